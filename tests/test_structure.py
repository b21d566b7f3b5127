"""The code's shape: layers import one way, config validation stays light, files stay readable."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.helpers import ROOT

PACKAGES = ("components", "stacks", "mlplat", "policies")
MAX_LINES = 400


def _modules() -> dict[str, ast.Module]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "handlers" in path.parts:  # Lambda code imports its siblings by bare name
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            out[name] = ast.parse(path.read_text(), str(path))
    return out


def _imports(tree: ast.Module, known: set[str]) -> set[str]:
    """Modules of this project imported at module level (imports inside functions are deferred)."""
    found = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {n for n in names if n in known}
    return found


def test_no_import_cycles():
    modules = _modules()
    graph = {name: _imports(tree, set(modules)) - {name} for name, tree in modules.items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_no_source_file_over_400_lines():
    long_files = [f"{p.relative_to(ROOT)}: {n}" for package in (*PACKAGES, "tests", "bench", "scripts")
                  for p in (ROOT / package).rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert long_files == []


def test_validating_the_config_imports_no_provider():
    """`stacks.config` and every args module stay light: no Pulumi provider SDK is imported."""
    code = ("import sys, stacks.config, stacks.reference; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pulumi_aws', 'pulumi_aws_native', 'pulumi_kubernetes')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_test_modules_share_fixtures_through_helpers_not_each_other():
    """Importing a test module runs its module-level tests' setup twice and hides where data lives."""
    offenders = []
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.rsplit(".", 1)[-1].startswith("test_"):
                offenders.append(f"{path.relative_to(ROOT)} imports {node.module}")
    assert not offenders, offenders
