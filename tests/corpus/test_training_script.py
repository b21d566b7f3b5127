"""The continued pre-training script the PyTorchJob mounts, run for real: two CPU processes under torchrun (gloo,
DistributedDataParallel) on shards curated with a tokenizer trained in-process, continuing a tiny GPT-NeoX
(Pythia's architecture) built in-process. Nothing comes from a hub. The FSDP branch needs GPUs and is not run.

Marked `training` (make test-slow installs torch and transformers); CI runs it after `make test`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_cli

pytestmark = pytest.mark.training
SCRIPT = ROOT / "components/training_job/scripts/continued_pretraining.py"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def test_script_trains_and_saves_a_model(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import AutoModelForCausalLM, GPTNeoXConfig, GPTNeoXForCausalLM

    texts = [json.loads(line)["text"] for line in (ROOT / "examples/corpus/input/news-and-filings.jsonl").open()]
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=500, special_tokens=["[UNK]"],
                                                             show_progress=False))
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    result = run_cli("corpus", "curate", "--input", str(ROOT / "examples/corpus/input"), "--output",
                     str(tmp_path / "curated"), "--domain-config", str(ROOT / "examples/corpus/domain.yaml"),
                     "--tokenizer", str(tmp_path / "tokenizer.json"), "--max-tokens", "64")
    assert result.returncode == 0, result.stderr
    config = GPTNeoXConfig(vocab_size=512, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=128)
    GPTNeoXForCausalLM(config).save_pretrained(tmp_path / "base")
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(SCRIPT),
         "--model", str(tmp_path / "base"), "--tokens", str(tmp_path / "curated/tokens"),
         "--output", str(tmp_path / "trained"), "--epochs", "1", "--batch-size", "4", "--lr", "1e-3"],
        capture_output=True, text=True, timeout=300, env=ENV)
    assert run.returncode == 0, run.stderr[-3000:]
    logs = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    losses = [entry["loss"] for entry in logs if "loss" in entry]
    assert losses and all(0 < loss < 20 for loss in losses)
    assert logs[-1] == {"saved": str(tmp_path / "trained")}
    trained = AutoModelForCausalLM.from_pretrained(tmp_path / "trained")
    base = AutoModelForCausalLM.from_pretrained(tmp_path / "base")
    changed = [name for (name, a), (_, b) in zip(trained.named_parameters(), base.named_parameters(), strict=True)
               if not a.detach().equal(b.detach())]
    assert changed, "training changed no weight"


def test_script_refuses_byte_tokenizer_shards(tmp_path: Path) -> None:
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    result = run_cli("corpus", "curate", "--input", str(ROOT / "examples/corpus/input"), "--output",
                     str(tmp_path / "curated"), "--domain-config", str(ROOT / "examples/corpus/domain.yaml"))
    assert result.returncode == 0
    config = GPTNeoXConfig(vocab_size=512, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=128)
    GPTNeoXForCausalLM(config).save_pretrained(tmp_path / "base")
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1", str(SCRIPT),
         "--model", str(tmp_path / "base"), "--tokens", str(tmp_path / "curated/tokens"), "--output",
         str(tmp_path / "out")], capture_output=True, text=True, timeout=300,
        env=ENV)
    assert run.returncode != 0
    assert "curated with the byte tokenizer" in run.stderr
