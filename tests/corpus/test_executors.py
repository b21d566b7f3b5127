"""The same corpus through one local worker, two local workers and a local Ray runtime: the same outputs.

Marked `ray` (make test-slow): worker processes and a Ray runtime take seconds to start, which `make test`'s
time goal cannot afford; CI runs them after `make test`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlplat.corpus.pipeline import curate, expand_inputs
from mlplat.corpus.report import Progress
from mlplat.corpus.synthetic import DOMAIN_CONFIG, generate
from mlruntime.corpus.config import CurateOptions, parse_domain_config

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("in")
    records = list(generate(300, seed=3))
    for part in range(3):
        (folder / f"part-{part}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[part::3]))
    return folder


def _run(corpus: Path, out: Path, **kwargs) -> tuple[dict, str]:
    opts = CurateOptions(inputs=(str(corpus),), output=str(out), domain=parse_domain_config(DOMAIN_CONFIG, "d"),
                         max_tokens=1024, select="entropy", keep_fraction=0.5, **kwargs)
    files, _ = expand_inputs(opts.inputs)
    stats = curate(opts, files, progress=Progress(enabled=False))
    return stats["counts"], (out / "bedrock/train.jsonl").read_text()


def test_local_workers_and_ray_agree(corpus: Path, tmp_path: Path) -> None:
    one = _run(corpus, tmp_path / "one", workers=1)
    two = _run(corpus, tmp_path / "two", workers=2)
    ray = _run(corpus, tmp_path / "ray", workers=2, executor="ray")
    assert one[0]["duplicatesRemoved"] > 0 and one[0]["selected"] > 0
    assert one == two == ray
