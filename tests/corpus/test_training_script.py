"""The continued pre-training script the PyTorchJob mounts, run for real: two CPU processes under torchrun (gloo,
DistributedDataParallel) on shards curated with a tokenizer trained in-process, continuing a tiny GPT-NeoX
(Pythia's architecture) built in-process. Nothing comes from a hub. The FSDP branch needs GPUs and is not run.

Marked `training` (make test-slow installs torch and transformers); CI runs it after `make test`.
"""

from __future__ import annotations

import importlib.util
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


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """Shards curated with a tokenizer trained in-process, and a tiny GPT-NeoX (Pythia's architecture) to continue."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    tmp_path = tmp_path_factory.mktemp("training")
    texts = [json.loads(line)["text"] for line in (ROOT / "examples/corpus/input/news-and-filings.jsonl").open()]
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=500, special_tokens=["[UNK]", "<|endoftext|>"],
                                                             show_progress=False))
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    result = run_cli("corpus", "curate", "--input", str(ROOT / "examples/corpus/input"), "--output",
                     str(tmp_path / "curated"), "--domain-config", str(ROOT / "examples/corpus/domain.yaml"),
                     "--tokenizer", str(tmp_path / "tokenizer.json"), "--max-tokens", "64")
    assert result.returncode == 0, result.stderr
    config = GPTNeoXConfig(vocab_size=512, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=128)
    GPTNeoXForCausalLM(config).save_pretrained(tmp_path / "base")
    return tmp_path


def _torchrun(prepared: Path, output: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(SCRIPT),
            "--model", str(prepared / "base"), "--tokens", str(prepared / "curated/tokens"), "--output", str(output),
            "--batch-size", "4", "--lr", "1e-3", *extra]


def test_script_trains_and_saves_a_model(prepared: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    run = subprocess.run(_torchrun(prepared, tmp_path / "trained", "--epochs", "1"), capture_output=True, text=True,
                         timeout=300, env=ENV)
    assert run.returncode == 0, run.stderr[-3000:]
    logs = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    losses = [entry["loss"] for entry in logs if "loss" in entry]
    assert losses and all(0 < loss < 20 for loss in losses)
    assert logs[-1] == {"saved": str(tmp_path / "trained")}
    trained = AutoModelForCausalLM.from_pretrained(tmp_path / "trained")
    base = AutoModelForCausalLM.from_pretrained(prepared / "base")
    changed = [name for (name, a), (_, b) in zip(trained.named_parameters(), base.named_parameters(), strict=True)
               if not a.detach().equal(b.detach())]
    assert changed, "training changed no weight"
    assert all(p.dtype.is_floating_point and p.dtype.itemsize == 4 for p in trained.parameters())


def _script():
    spec = importlib.util.spec_from_file_location("continued_pretraining", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _changed_fraction(model, batch, precision: str) -> float:
    import torch

    script = _script()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.1)
    script.train_step(model, batch, optimizer, torch.device("cpu"), precision)
    changed = sum(int((p.detach() != b).sum()) for p, b in zip(model.parameters(), before, strict=True))
    return changed / sum(b.numel() for b in before)


def test_bf16_compute_still_moves_fp32_master_weights() -> None:
    """One small step (lr 2e-5, a warm-up-sized update) with bf16 compute changes nearly every fp32 weight. The
    former setup (the model cast to bf16, AdamW on bf16 parameters) leaves most of them where they were."""
    import torch
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    torch.manual_seed(0)
    config = GPTNeoXConfig(vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=128, max_position_embeddings=64)
    ids = torch.randint(0, 512, (4, 32))
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids}
    mixed = GPTNeoXForCausalLM(config)
    assert _changed_fraction(mixed, batch, "bf16") > 0.9
    assert all(p.dtype == torch.float32 for p in mixed.parameters())
    cast = GPTNeoXForCausalLM(config).to(torch.bfloat16)
    assert _changed_fraction(cast, batch, "fp32") < 0.5
    policy = _script().mixed_precision("bf16")
    assert (policy.param_dtype, policy.reduce_dtype, policy.buffer_dtype) == (
        torch.bfloat16, torch.float32, torch.bfloat16)
    assert _script().mixed_precision("fp32") is None


def test_fsdp_wraps_each_decoder_layer_not_the_whole_model() -> None:
    """One FSDP unit per decoder layer (the model's `_no_split_modules`), so a rank gathers one layer's parameters at a
    time instead of the whole model: the policy accepts each GPTNeoXLayer and refuses the model and its embeddings."""
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    model = GPTNeoXForCausalLM(GPTNeoXConfig(vocab_size=512, hidden_size=32, num_hidden_layers=3,
                                             num_attention_heads=2, intermediate_size=64, max_position_embeddings=64))
    policy = _script().decoder_layer_policy(model)
    layers = [m for m in model.modules() if type(m).__name__ == "GPTNeoXLayer"]
    assert len(layers) == 3
    assert all(policy(module=m, recurse=False, nonwrapped_numel=1) for m in layers)
    assert not policy(module=model.gpt_neox.embed_in, recurse=False, nonwrapped_numel=1)
    assert _script().decoder_layer_policy(torch_module_without_layers()) is None


def torch_module_without_layers():
    import torch

    return torch.nn.Linear(2, 2)


def test_a_failed_job_resumes_from_its_last_checkpoint(prepared: Path, tmp_path: Path) -> None:
    """Under torchrun: checkpoints every 2 steps; a fault after step 5 fails every worker (as a lost node fails the
    job). Started again, as the PyTorchJob's restart policy starts it, the job loads the sharded model and
    optimizer state of step 4 and continues to the end without repeating or skipping a step."""
    checkpoints = tmp_path / "checkpoints"
    cmd = _torchrun(prepared, tmp_path / "trained", "--epochs", "2", "--checkpoint-dir", str(checkpoints),
                    "--checkpoint-every", "2")
    failed = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**ENV, "MLPLAT_FAULT_AT_STEP": "5"})
    assert failed.returncode != 0 and "injected fault at step 5" in failed.stderr, failed.stderr[-2000:]
    first = [json.loads(line) for line in failed.stdout.splitlines() if line.startswith("{")]
    assert [e["checkpoint"] for e in first if "checkpoint" in e] == [2, 4]
    assert json.loads((checkpoints / "latest.json").read_text())["step"] == 4
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=ENV)
    assert again.returncode == 0, again.stderr[-3000:]
    logs = [json.loads(line) for line in again.stdout.splitlines() if line.startswith("{")]
    assert [e["resumed"] for e in logs if "resumed" in e] == [4], logs
    saved = [e["checkpoint"] for e in logs if "checkpoint" in e]
    assert saved and saved[0] == 6 and saved == list(range(6, 6 + 2 * len(saved), 2)), saved
    assert logs[-1] == {"saved": str(tmp_path / "trained")}


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


def test_nccl_preflight_measures_and_fails_below_the_floor(tmp_path: Path) -> None:
    """The preflight script under torchrun (gloo on CPU here, NCCL on GPUs): a bus bandwidth line per size, and
    exit 1 when the largest size stays under --min-busbw-gbps."""
    script = ROOT / "components/training_job/scripts/nccl_preflight.py"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
           "--iterations", "3"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=ENV)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert [entry["sizeMiB"] for entry in lines] == [1, 4] and all(e["busbwGbps"] > 0 and e["ranks"] == 2
                                                                  for e in lines)
    floor = subprocess.run([*cmd, "--min-busbw-gbps", "1000000"], capture_output=True, text=True, timeout=120,
                           env=ENV)
    assert floor.returncode != 0 and '"failed": "busbw' in floor.stdout
