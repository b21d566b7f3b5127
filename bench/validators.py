"""What the third-party validators cost: parliament over every IAM document in the shipped plans, and
cfn-lint over their aws-native resources.

    python bench/validators.py

Plans dev, staging and prod first (not timed: `make test` plans them once for every test anyway), then
times importing each validator (their data loads at import) and running it on every plan.
Prints: documents=… iam_s=… native_resources=… cfn_lint_s=… total_s=…
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

    documents = [d for plan in plans for d in iam_lint.documents(plan)]
    problems = [p for typ, _, doc in documents for p in iam_lint.findings(typ, doc)]
    iam_done = time.perf_counter()
    from tests import cfn_lint_native

    native = sum(len(cfn_lint_native.template(plan, plan["outputs"]["region"])["Resources"]) for plan in plans)
    problems += [p for plan in plans for p in cfn_lint_native.problems(plan, plan["outputs"]["region"])]
    done = time.perf_counter()
    print(f"documents={len(documents)} iam_s={iam_done - start:.2f} native_resources={native} "
          f"cfn_lint_s={done - iam_done:.2f} total_s={done - start:.2f} problems={len(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
