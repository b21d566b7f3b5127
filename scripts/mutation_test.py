"""Mutation testing of the modules where a wrong comparison costs the most: leases, retries, bands and budgets.

Each mutant changes one thing in one function (a comparison flipped or loosened, `and` and `or` swapped, a boolean
constant negated, a `not` dropped, an integer constant moved by one; not inside a log call), in a copy of the tracked
files (`git ls-files`), and runs the tests that cover that module there. A mutant the tests fail on is killed; one
they pass survives, and is printed with its place. The score is killed / mutants.

    python scripts/mutation_test.py [--module dora] [--limit N] [--jobs 2]

`make test-slow` runs it (tests/test_mutation.py) and reports the score; nothing here touches the working tree.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Module -> (the functions mutated, the tests that cover them).
TARGETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "components/kpi_report/handlers/dora.py": (("band",), ("tests/components/test_dora.py",)),
    "components/live_chat/handlers/common.py": (("deliver_pending", "_acquire", "_release"),
                                                ("tests/components/live_chat/test_handlers.py",)),
    "components/rag/handlers/ingest.py": (("serialized",), ("tests/rag/test_handlers.py",
                                                            "tests/rag/test_ingest_lease.py")),
    "mlplat/invoke.py": (("invoke",), ("tests/mlplat/test_invoke.py",)),
    "policies/rules/cost.py": (("_throughput_budget", "_gpu_budget", "_commitment"),
                               ("tests/policies/test_cost.py", "tests/components/test_bedrock.py",
                                "tests/mlplat/test_policy_overrides.py")),
}

_FLIPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq}


@dataclass(frozen=True)
class Mutant:
    path: str
    function: str
    line: int
    what: str
    source: str


def _mutants_of(path: str, functions: tuple[str, ...]) -> list[Mutant]:
    text = (ROOT / path).read_text()
    tree = ast.parse(text)
    out: list[Mutant] = []
    for fn in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name in functions]:
        # What is only logged (a level, a field) is not behaviour the tests hold: not mutated.
        logged = {id(x) for call in ast.walk(fn) if isinstance(call, ast.Call) and getattr(call.func, "id", "") in
                  ("log", "print") for x in ast.walk(call)}
        for node in ast.walk(fn):
            if id(node) in logged:
                continue
            for what, apply in _changes(node):
                apply()
                out.append(Mutant(path, fn.name, node.lineno, what, ast.unparse(tree)))
                apply(undo=True)
    return out


def _changes(node: ast.AST):
    """(description, apply(undo=False)) for each one-place change of `node`."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in _FLIPS:
                def flip(undo=False, i=i, op=op):
                    node.ops[i] = op if undo else _FLIPS[type(op)]()
                yield f"{type(op).__name__} -> {_FLIPS[type(op)].__name__}", flip
    elif isinstance(node, ast.BoolOp):
        def swap(undo=False, was=node.op):
            node.op = was if undo else (ast.Or() if isinstance(was, ast.And) else ast.And())
        yield f"{type(node.op).__name__} -> {'Or' if isinstance(node.op, ast.And) else 'And'}", swap
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        original = node.operand

        def drop(undo=False):
            node.op = ast.Not() if undo else ast.UAdd()
            node.operand = original
        yield "not dropped", drop
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        def negate(undo=False, was=node.value):
            node.value = was if undo else not was
        yield f"{node.value} -> {not node.value}", negate
    elif isinstance(node, ast.Constant) and type(node.value) is int and node.value not in (0, 1):
        def bump(undo=False, was=node.value):
            node.value = was if undo else was + 1
        yield f"{node.value} -> {node.value + 1}", bump


def _copy_tree() -> Path:
    """The tracked files, in a scratch folder (the working tree is never mutated)."""
    target = Path(tempfile.mkdtemp(prefix="mlplat-mutants-"))
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for name in files.splitlines():
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _run(mutant: Mutant, tests: tuple[str, ...]) -> bool:
    """True when the tests fail on the mutant (killed)."""
    tree = _copy_tree()
    try:
        (tree / mutant.path).write_text(mutant.source)
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(tree)}
        done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                              cwd=tree, env=env, capture_output=True, text=True, timeout=600)
        return done.returncode != 0
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def run(modules: list[str] | None = None, limit: int | None = None, jobs: int = 2) -> tuple[int, list[Mutant]]:
    """(mutants run, survivors)."""
    work = []
    for path, (functions, tests) in TARGETS.items():
        if modules and not any(m in path for m in modules):
            continue
        work += [(m, tests) for m in _mutants_of(path, functions)[:limit]]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        killed = list(pool.map(lambda item: _run(*item), work))
    return len(work), [m for (m, _), k in zip(work, killed, strict=True) if not k]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", action="append", help="only modules whose path contains this (repeatable)")
    parser.add_argument("--limit", type=int, help="at most N mutants per module")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default: %(default)s)")
    args = parser.parse_args(argv)
    total, survivors = run(args.module, args.limit, args.jobs)
    for m in survivors:
        print(f"survived: {m.path}:{m.line} in {m.function}: {m.what}")
    print(f"mutation score: {total - len(survivors)}/{total} killed ({(total - len(survivors)) / max(total, 1):.0%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
