"""The README's generated parts: the cost row of the environments table and the policy table (`make generate`
writes them).

    python -m mlplat.readme --write README.md

plans each shipped stack in its own process (the Pulumi runtime is process-global) and rewrites the row.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

STACKS = ("dev", "staging", "prod")
ROW_PREFIX = "| Cost, USD/hour idle … max (`mlplat cost <stack>`) |"


def cost_row(plans: Mapping[str, dict[str, Any]]) -> str:
    cells = [f"{plans[s]['cost']['hourlyUsdIdle']:,.2f} … {plans[s]['cost']['hourlyUsdMax']:,.2f}" for s in STACKS]
    return f"{ROW_PREFIX} {' | '.join(cells)} |"


def with_cost_row(readme: str, row: str) -> str:
    lines = readme.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.startswith(ROW_PREFIX)]
    if len(at) != 1:
        raise ValueError(f"expected one line starting with {ROW_PREFIX!r} in the README; found {len(at)}")
    lines[at[0]] = row + "\n"
    return "".join(lines)


TABLE_HEADER = "| rule | checks |"


def policy_table() -> str:
    """One row per policy the pack serves (its name and description): the README can never list fewer."""
    from policies.pack import ALL_POLICIES

    rows = [TABLE_HEADER, "|---|---|"]
    rows += [f"| {p.name} | {' '.join(p.description.split())} |" for p in ALL_POLICIES]
    return "\n".join(rows)


def with_policy_table(readme: str, table: str) -> str:
    """Replace the table that starts with TABLE_HEADER (up to the blank line after it)."""
    lines = readme.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.rstrip("\n") == TABLE_HEADER]
    if len(at) != 1:
        raise ValueError(f"expected one line {TABLE_HEADER!r} in the README; found {len(at)}")
    end = at[0]
    while end < len(lines) and lines[end].strip():
        end += 1
    return "".join(lines[:at[0]]) + table + "\n" + "".join(lines[end:])


def _plan(stack: str, root: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "plan.json"
        done = subprocess.run([sys.executable, "-m", "mlplat", "plan", stack, "--json", str(out), "--quiet"],
                              cwd=root, capture_output=True, text=True)
        if not out.is_file():
            raise SystemExit(f"mlplat plan {stack} failed:\n{done.stderr}")
        return json.loads(out.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, required=True, metavar="README", help="the README to update")
    args = parser.parse_args(argv)
    root = args.write.resolve().parent
    row = cost_row({s: _plan(s, root) for s in STACKS})
    args.write.write_text(with_policy_table(with_cost_row(args.write.read_text(), row), policy_table()))
    print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
