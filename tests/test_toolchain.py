"""What `pulumi up` installs before the program runs, followed step by step from the Pulumi CLI's own source.

Pulumi.yaml names the pip toolchain and `.venv`. pulumi/pulumi `sdk/python/toolchain/pip.go` (read at v3.259):
`EnsureVenv` runs `InstallDependencies` when the virtualenv folder is missing or empty, which creates it
(`python -m venv <root>/<virtualenv>`), upgrades pip, setuptools and wheel in it, and then installs
`requirements.txt` *from the program's folder only* (`filepath.Join(cwd, "requirements.txt")`; none: nothing is
installed, and the program fails on its first import). `pyproject.toml` is not read by that toolchain.

The fast test follows those steps on a clean copy of the repository with pip's own requirements parser; the slow one
(make test-slow) really installs, then plans a stack with the interpreter it got.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT


def clean_copy(target: Path) -> Path:
    """The files a fresh clone has (tracked files, as they are in the work tree)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def toolchain_steps(root: Path) -> tuple[Path, Path]:
    """(virtualenv, requirements file) as pip.go resolves them for this project."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text())
    runtime = project["runtime"]
    options = runtime.get("options") or {}
    assert runtime["name"] == "python" and options.get("toolchain") == "pip", options
    main = root / project.get("main", ".")
    program_dir = main if main.is_dir() else main.parent
    return root / options["virtualenv"], program_dir / "requirements.txt"


def _module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _third_party_imports(root: Path) -> set[str]:
    """Top-level third-party modules the program can import: every import (functions included) of every project
    module reachable from `__main__.py`."""
    local = {p.name for p in root.iterdir() if p.is_dir()}
    found: set[str] = set()
    todo, done = [root / "__main__.py"], set()
    while todo:
        path = todo.pop()
        if path in done:
            continue
        done.add(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module, *(f"{node.module}.{a.name}" for a in node.names)] \
                if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                top = name.split(".")[0]
                if top in local:
                    parts = name.split(".")
                    todo += [f for i in range(1, len(parts) + 1) if (f := _module_file(root, ".".join(parts[:i])))]
                elif top not in sys.stdlib_module_names:
                    found.add(top)
    return found


def _closure(requirements: list[str]) -> set[str]:
    """Distribution names a set of requirements installs (markers for this interpreter, extras not followed)."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name in seen or (req.marker and not req.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        todo += [Requirement(r) for r in metadata.requires(req.name) or []]
    return seen


def test_the_pip_toolchain_installs_everything_the_program_imports(tmp_path):
    root = clean_copy(tmp_path / "clone")
    _, requirements = toolchain_steps(root)
    assert requirements.is_file(), "the pip toolchain would install nothing: the program's first import fails"
    from pip._internal.network.session import PipSession
    from pip._internal.req.req_file import parse_requirements

    parsed = list(parse_requirements(str(requirements), session=PipSession(), constraint=False))
    editable = [r for r in parsed if r.is_editable]
    assert [r.requirement for r in editable] == ["."], "the project itself, from the program's folder"
    import tomllib

    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    installed = _closure(pyproject["project"]["dependencies"])
    by_module = metadata.packages_distributions()
    missing = {m: by_module.get(m) for m in _third_party_imports(root)
               if not {re.sub(r"[-_.]+", "-", d).lower() for d in by_module.get(m, [m])} & installed}
    assert missing == {}, "imported by the program but not installed by requirements.txt"
    constraints = requirements.parent / "constraints.txt"
    assert f"-c {constraints.name}" in requirements.read_text()
    pinned = {re.sub(r"[-_.]+", "-", line.split("==")[0]).lower() for line in constraints.read_text().splitlines()
              if "==" in line}
    assert installed - pinned - {"ml-platform"} == set(), "every runtime dependency at the version tests ran with"


@pytest.mark.extras
def test_a_fresh_clone_gets_a_working_program_from_the_pip_toolchain(tmp_path):
    """The steps `pulumi up` runs on a fresh clone, for real: venv, pip/setuptools/wheel, `-r requirements.txt`
    from the program's folder; then the program planned with the interpreter they produced."""
    root = clean_copy(tmp_path / "clone")
    venv, requirements = toolchain_steps(root)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    for step in (["-m", "pip", "install", "-q", "--upgrade", "pip", "setuptools", "wheel"],
                 ["-m", "pip", "install", "-q", "-r", requirements.name]):
        done = subprocess.run([str(python), *step], cwd=requirements.parent, capture_output=True, text=True,
                              timeout=1800)
        assert done.returncode == 0, done.stderr[-2000:]
    done = subprocess.run([str(venv / "bin" / "mlplat"), "plan", "dev", "--quiet"], cwd=root, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0 and "Plan: ml-platform / dev" in done.stdout, done.stderr[-2000:]
