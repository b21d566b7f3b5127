"""The code's shape: layers import one way, config validation stays light, files stay readable."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys

from tests.helpers import ROOT

PACKAGES = ("mlruntime", "components", "stacks", "policies", "mlplat")
MAX_LINES = 400

#: What each layer may import from this project (longest prefix wins). Imports run one way:
#: mlplat -> stacks -> components -> catalog and the runtime package; policies read plans, with the
#: catalog's facts; the runtime package (shipped inside Lambda bundles) imports only itself.
ALLOWED: dict[str, tuple[str, ...]] = {
    "mlruntime": ("mlruntime",),
    "components.catalog": ("components.catalog",),
    "components": ("components", "mlruntime"),
    "stacks": ("stacks", "components", "mlruntime"),
    "policies": ("policies", "components.catalog", "mlruntime"),
    "mlplat": ("mlplat", "stacks", "components", "policies", "mlruntime"),
}
#: Lambda handlers run from their bundle: siblings by bare name, plus the runtime package.
HANDLERS_ALLOWED = ("mlruntime",)


def _sources(package: str, pattern: str = "*.py") -> list:
    """The project's own files under `package`: not a virtualenv (policies/venv, the pack's interpreter) or npm's."""
    return [p for p in (ROOT / package).rglob(pattern) if not {"venv", ".venv", "node_modules"} & set(p.parts)]


@functools.cache
def _modules() -> dict[str, tuple[ast.Module, bool]]:
    """Module name -> (tree, is a Lambda handler module)."""
    out = {}
    for package in PACKAGES:
        for path in _sources(package):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            out[name] = (ast.parse(path.read_text(), str(path)), "handlers" in path.parts)
    return out


def _imports(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of every absolute import anywhere in the file: inside functions and TYPE_CHECKING too."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def _layer(module: str) -> str:
    return max((k for k in ALLOWED if module == k or module.startswith(k + ".")), key=len)


def _ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def layering_offenders(modules: dict[str, tuple[ast.Module, bool]]) -> list[str]:
    """`module:line imports x` for every import of this project's code that does not go down a layer."""
    offenders = []
    for name, (tree, handler) in modules.items():
        allowed = HANDLERS_ALLOWED if handler else ALLOWED[_layer(name)]
        for line, imported in _imports(tree):
            if _ours(imported) and not any(imported == a or imported.startswith(a + ".") for a in allowed):
                offenders.append(f"{name}:{line} imports {imported}")
    return sorted(set(offenders))


def test_imports_run_one_way():
    """Every import of this project's code, at module level or inside a function, goes down a layer."""
    assert layering_offenders(_modules()) == []


def test_the_layering_rule_catches_an_upward_import():
    """The rule itself, on modules made for it: an upward import inside a function, a handler importing a sibling
    layer, and imports that go down."""
    upward = ast.parse("def f():\n    from mlplat.project import InputError\n")
    down = ast.parse("from components.catalog import prices\nimport mlruntime.files\n")
    handler = ast.parse("from components.base import StrictModel\n")
    found = layering_offenders({"stacks.x": (upward, False), "stacks.y": (down, False),
                                "components.rag.handlers.z": (handler, True)})
    assert found == ["components.rag.handlers.z:1 imports components.base",
                     "components.rag.handlers.z:1 imports components.base.StrictModel",
                     "stacks.x:2 imports mlplat.project", "stacks.x:2 imports mlplat.project.InputError"]


def test_no_import_cycles():
    """No two modules import each other, directly or through others (imports inside functions count)."""
    modules = _modules()
    known = set(modules)
    graph = {name: {m for _, m in _imports(tree) if m in known} - {name}
             for name, (tree, _) in modules.items()}
    # A package's __init__ re-exporting its own modules is not a cycle with them.
    graph = {name: {m for m in deps if not name.startswith(m + ".")} for name, deps in graph.items()}
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
    ours = [p for package in (*PACKAGES, "tests", "bench", "scripts") for p in _sources(package)]
    long_files = [f"{p.relative_to(ROOT)}: {n}" for p in ours if (n := len(p.read_text().splitlines())) > MAX_LINES]
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


def test_component_type_tokens_name_their_package():
    """`mlplat:<package>:<Type>`: the middle part is the package under components/ (one rule, no guessing)."""
    wrong = []
    for path in (ROOT / "components").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__"
                    and node.args and isinstance(node.args[0], ast.Constant)
                    and str(node.args[0].value).startswith("mlplat:")):
                package = path.relative_to(ROOT / "components").parts[0]
                if node.args[0].value.split(":")[1] != package:
                    wrong.append(f"{path.relative_to(ROOT)}: {node.args[0].value}")
    assert wrong == []
