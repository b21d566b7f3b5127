"""`mlplat corpus curate` from the command line: bad input is counted per file, bad options exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_cli

EXAMPLE = ROOT / "examples/corpus"


def test_example_runs_and_reports(tmp_path: Path) -> None:
    result = run_cli("corpus", "curate", "--input", str(EXAMPLE / "input"), "--output", str(tmp_path / "out"),
                     "--domain-config", str(EXAMPLE / "domain.yaml"), "--select", "similarity",
                     "--task-data", str(EXAMPLE / "task.jsonl"), "--keep-fraction", "0.5",
                     "--bedrock-model", "amazon.titan-text-lite-v1:0:4k")
    assert result.returncode == 0, result.stderr
    stats = json.loads((tmp_path / "out/stats.json").read_text())
    assert stats["options"]["maxTokens"] == 4096  # the model's per-record limit at batch size 1
    counts = stats["counts"]
    assert counts["selected"] == round((counts["documentsSigned"] - counts["duplicatesRemoved"]) * 0.5) > 0
    assert f"selected {stats['counts']['selected']:,}" in result.stdout
    assert result.stderr == ""  # no datatrove logs, no progress bar when stderr is not a terminal


def test_bad_input_is_counted_per_file_and_not_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.jsonl").write_text(json.dumps({"id": "1", "url": "https://reuters.com/a", "text": "Bond yields rose"
                                                   " again today as credit markets sold off."}) + "\n")
    (folder / "mixed.jsonl").write_text("not json\n" + json.dumps({"id": "2"}) + "\n[1, 2]\n"
                                        + json.dumps({"id": "3", "text": "x", "url": "https://ft.com/b"}) + "\n")
    (folder / "broken.jsonl.gz").write_bytes(b"this is not gzip")
    (tmp_path / "d.yaml").write_text("outlets: [reuters.com, ft.com]\n")
    result = run_cli("corpus", "curate", "--input", str(folder), "--output", str(tmp_path / "out"),
                     "--domain-config", str(tmp_path / "d.yaml"))
    assert result.returncode == 0, result.stderr
    stats = json.loads((tmp_path / "out/stats.json").read_text())
    bad = stats["inputs"]["badInput"]
    assert bad[str(folder / "mixed.jsonl")] == {"notJson": 2, "missingText": 1, "firstLine": 1}
    assert "BadGzipFile" in bad[str(folder / "broken.jsonl.gz")]["unreadable"]
    assert str(folder / "good.jsonl") not in bad
    assert stats["counts"]["read"] == 2 and stats["counts"]["badRecords"] == 3
    assert "mixed.jsonl: 2 notJson, 1 missingText (skipped)" in result.stderr
    assert "broken.jsonl.gz: BadGzipFile" in result.stderr


@pytest.mark.parametrize(("extra", "config", "message"), [
    (["--max-tokens", "5000", "--bedrock-model", "amazon.titan-text-express-v1:0:8k"], "outlets: [ft.com]",
     "--max-tokens: amazon.titan-text-express-v1:0:8k takes at most 4,096 tokens per continued pre-training record, "
     "found 5,000"),
    (["--bedrock-model", "amazon.titan-image-generator-v2:0"], "outlets: [ft.com]",
     "--bedrock-model: expected a base model with continued pre-training"),
    (["--select", "perplexity"], "outlets: [ft.com]", "--scorer: --select perplexity needs the target model's"),
    (["--select", "similarity"], "outlets: [ft.com]", "--task-data: --select similarity ranks documents"),
    (["--keep-fraction", "0"], "outlets: [ft.com]", "--keep-fraction: expected a fraction in (0, 1], found 0.0"),
    (["--tokenizer", "missing.json"], "outlets: [ft.com]", "--tokenizer: expected a tokenizer.json file"),
    ([], "outlets: [https://ft.com/x]\nnearDuplicateThreshold: 2",
     "outlets: expected a host name such as reuters.com (no scheme or path), found 'https://ft.com/x'"),
    ([], "keywords: finance", "keywords: expected a list of non-empty words, found 'finance'"),
    ([], "outlets: [ft.com]\nfilingMinWord: 3", "filingMinWord: unknown key"),
])
def test_bad_options_exit_2_naming_the_key(tmp_path: Path, extra: list[str], config: str, message: str) -> None:
    (tmp_path / "d.yaml").write_text(config + "\n")
    result = run_cli("corpus", "curate", "--input", str(EXAMPLE / "input"), "--output", str(tmp_path / "out"),
                     "--domain-config", str(tmp_path / "d.yaml"), *extra)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_missing_input_exits_2(tmp_path: Path) -> None:
    result = run_cli("corpus", "curate", "--input", str(tmp_path / "nope"), "--output", str(tmp_path / "out"),
                     "--domain-config", str(EXAMPLE / "domain.yaml"))
    expected = f"error: --input: no file or folder at {tmp_path / 'nope'}"
    assert (result.returncode, result.stderr.strip()) == (2, expected)


def test_plan_and_program_never_import_the_corpus_extra() -> None:
    code = ("import sys, mlplat.cli, stacks.platform, mlplat.engine\n"
            "heavy = {'datatrove', 'tokenizers', 'numpy', 'ray', 'faiss'} & {m.split('.')[0] for m in sys.modules}\n"
            "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_a_legacy_bedrock_base_is_refused_on_todays_calendar(tmp_path: Path, monkeypatch) -> None:
    """Titan Text is Legacy after 2025-02-11 (components/catalog/lifecycle.py): no new customization job, so
    records for it would feed a job Bedrock refuses; the GPU cluster path is named instead."""
    import datetime as dt

    from components.catalog import bedrock_models

    monkeypatch.setattr(bedrock_models, "today", lambda: dt.date(2026, 12, 7))
    (tmp_path / "d.yaml").write_text("outlets: [ft.com]\n")
    result = run_cli("corpus", "curate", "--input", str(EXAMPLE / "input"), "--output", str(tmp_path / "out"),
                     "--domain-config", str(tmp_path / "d.yaml"), "--bedrock-model", "amazon.titan-text-lite-v1:0:4k")
    assert result.returncode == 2 and not (tmp_path / "out").exists()
    assert "--bedrock-model: Titan Text G1 - Lite (amazon.titan-text-lite-v1:0:4k) is Legacy" in result.stderr
    assert "no new customization jobs" in result.stderr
    assert "--tokenizer with the model's tokenizer.json" in result.stderr
