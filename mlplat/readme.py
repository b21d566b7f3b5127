"""The docs' generated parts: the README's cost row and docs/policies.md's policy table (`make generate`).

    python -m mlplat.readme --write README.md

plans each shipped stack in its own process (the Pulumi runtime is process-global) and rewrites the row, which
names the day it was priced on: the EKS control plane costs more once a Kubernetes version leaves standard support,
so the same plan prices differently on another day, and the test reprices the row on the day it names.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

STACKS = ("dev", "staging", "prod")
ROW_PREFIX = "| Cost, USD/hour idle … max (`mlplat cost <stack>`"
POLICIES_DOC = Path("docs") / "policies.md"


def cost_row(plans: Mapping[str, dict[str, Any]], day: dt.date) -> str:
    """The row, each stack's resources priced on `day`."""
    from mlplat.cost import estimate

    costs = {s: estimate(plans[s]["resources"], today=day) for s in STACKS}
    cells = [f"{costs[s]['hourlyUsdIdle']:,.2f} … {costs[s]['hourlyUsdMax']:,.2f}" for s in STACKS]
    return f"{ROW_PREFIX}, priced on {day.isoformat()}) | {' | '.join(cells)} |"


def row_day(readme: str) -> dt.date:
    """The day the README's cost row was priced on."""
    found = re.search(r"priced on (\d{4}-\d{2}-\d{2})\)", readme)
    if found is None:
        raise ValueError("the README's cost row names no day it was priced on: run make generate")
    return dt.date.fromisoformat(found.group(1))


def with_cost_row(readme: str, row: str) -> str:
    lines = readme.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.startswith(ROW_PREFIX)]
    if len(at) != 1:
        raise ValueError(f"expected one line starting with {ROW_PREFIX!r} in the README; found {len(at)}")
    lines[at[0]] = row + "\n"
    return "".join(lines)


TABLE_HEADER = "| rule | checks |"


def policy_table() -> str:
    """One row per policy the pack serves (its name and description): docs/policies.md can never list fewer."""
    from policies.pack import ALL_POLICIES

    rows = [TABLE_HEADER, "|---|---|"]
    rows += [f"| {p.name} | {' '.join(p.description.split())} |" for p in ALL_POLICIES]
    return "\n".join(rows)


def with_policy_table(readme: str, table: str) -> str:
    """Replace the table that starts with TABLE_HEADER (up to the blank line after it)."""
    lines = readme.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.rstrip("\n") == TABLE_HEADER]
    if len(at) != 1:
        raise ValueError(f"expected one line {TABLE_HEADER!r} in {POLICIES_DOC}; found {len(at)}")
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
    row = cost_row({s: _plan(s, root) for s in STACKS}, dt.date.today())
    args.write.write_text(with_cost_row(args.write.read_text(), row))
    policies = root / POLICIES_DOC
    policies.write_text(with_policy_table(policies.read_text(), policy_table()))
    print(row)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
