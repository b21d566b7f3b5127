"""What the third-party validators cost: parliament over every IAM document in the shipped plans.

    python bench/validators.py

Plans dev, staging and prod first (not timed: `make test` plans them once for every test anyway), then
times importing parliament (its IAM definitions load at import) and linting every document.
Prints: documents=… import_s=… lint_s=… total_s=…
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import plan_stack  # noqa: E402


def main() -> int:
    plans = [plan_stack(stack).plan for stack in ("dev", "staging", "prod")]
    start = time.perf_counter()
    from tests import iam_lint

    imported = time.perf_counter()
    documents = [d for plan in plans for d in iam_lint.documents(plan)]
    problems = [p for typ, _, doc in documents for p in iam_lint.findings(typ, doc)]
    done = time.perf_counter()
    print(f"documents={len(documents)} import_s={imported - start:.2f} lint_s={done - imported:.2f} "
          f"total_s={done - start:.2f} problems={len(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
