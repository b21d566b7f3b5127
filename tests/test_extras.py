"""Each optional extra installs alone into a fresh venv and imports what it is for (make test-slow).

A dependency that only works because another extra or a test tool pulls it in (datatrove 0.10 imports
`regex` without declaring it; cfn-lint brought it in under `make test`) fails here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.extras

#: extra -> the code it exists for: importing it, then one command that needs it.
EXTRAS = {
    "corpus": "import mlplat.corpus.pipeline, mlplat.corpus.steps, mlplat.corpus.selection, mlplat.corpus.chunking",
    "rag": "import mlruntime.rag.local, mlplat.rag_cli",
    "ray": "import mlplat.corpus.ray_executor",
}


def _venv(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True)
    return folder / "bin" / "python"


def _install(python: Path, *requirements: str) -> None:
    uv = Path(sys.executable).parent / "uv"
    if uv.exists():
        cmd = [str(uv), "pip", "install", "-q", "--python", str(python), "-c", "constraints.txt", *requirements]
    else:
        cmd = [str(python), "-m", "pip", "install", "-q", "-c", "constraints.txt", *requirements]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_extra_installs_alone_and_works(tmp_path, extra):
    python = _venv(tmp_path / "venv")
    _install(python, f".[{extra}]")
    done = subprocess.run([str(python), "-c", EXTRAS[extra]], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_train_extra_with_the_cpu_torch_build(tmp_path):
    """The training image's packages, with the CPU build of torch: the one this machine keeps on disk (pip finds it),
    or PyTorch's CPU index where `make test-slow TORCH_INDEX=...` names it (the Makefile exports it)."""
    import os

    python = _venv(tmp_path / "venv")
    index = os.environ.get("TORCH_INDEX")
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-c",
                           "constraints.txt", ".[train]", "torch==2.13.0",
                           *(["--extra-index-url", index] if index else [])], cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-2000:]
    script = ROOT / "components/training_job/scripts/continued_pretraining.py"
    done = subprocess.run([str(python), str(script), "--help"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "usage" in done.stdout.lower(), done.stderr[-2000:]
