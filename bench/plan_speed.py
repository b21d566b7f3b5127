"""How much `mlplat plan <stack>` costs over the unavoidable floor.

Floor: a fresh process that imports pulumi, pulumi_aws and pulumi_kubernetes and touches
one class in every provider module the plan uses (pulumi_aws loads submodules lazily, so importing
the package alone would understate the floor). Both are timed in the same run, alternating, several
repetitions; medians are reported.

    python bench/plan_speed.py [--stack prod] [--reps 5]
prints: plan_s=… floor_s=… ratio=…
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"aws": "pulumi_aws", "kubernetes": "pulumi_kubernetes", "aws-native": "pulumi_aws_native"}
KEYWORDS = {"lambda": "lambda_"}


def _exists(dotted: str) -> bool:
    try:
        return importlib.util.find_spec(dotted) is not None
    except ModuleNotFoundError:
        return False


def class_paths(plan: dict) -> list[str]:
    """`aws:ec2/vpc:Vpc` -> `pulumi_aws.ec2.Vpc` (one class per module)."""
    seen: dict[str, str] = {}
    for r in plan["resources"]:
        pkg, _, rest = r["type"].partition(":")
        if pkg not in PACKAGES or not r["custom"]:
            continue
        module, _, cls = rest.rpartition(":")
        if pkg == "kubernetes":
            group, _, version = module.partition("/")
            module = f"{group.split('.')[0]}.{version}"
            if not _exists(f"{PACKAGES[pkg]}.{module}"):  # a CRD kind (PyTorchJob): a CustomResource
                module, cls = "apiextensions", "CustomResource"
        else:
            module = KEYWORDS.get(module.split("/")[0], module.split("/")[0])
        dotted = PACKAGES[pkg] + ("" if module in ("index", "") else f".{module}")
        seen.setdefault(dotted, f"{dotted}.{cls}")
    return sorted(seen.values())


def floor_script(paths: list[str]) -> str:
    lines = ["import importlib", "import pulumi, pulumi_aws, pulumi_kubernetes"]
    for p in paths:
        module, _, cls = p.rpartition(".")
        lines.append(f"getattr(importlib.import_module({module!r}), {cls!r})")
    return "\n".join(lines)


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "plan.json"
        subprocess.run([sys.executable, "-m", "mlplat", "plan", args.stack, "--quiet", "--json", str(out)],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        plan = json.loads(out.read_text())
    paths = class_paths(plan)
    floor_cmd = [sys.executable, "-c", floor_script(paths)]
    plan_cmd = [sys.executable, "-m", "mlplat", "plan", args.stack, "--quiet"]
    plan_times, floor_times = [], []
    for _ in range(args.reps):
        floor_times.append(timed(floor_cmd))
        plan_times.append(timed(plan_cmd))
    plan_s, floor_s = statistics.median(plan_times), statistics.median(floor_times)
    print(f"stack={args.stack} resources={len(plan['resources'])} provider_modules={len(paths)} reps={args.reps}")
    print(f"plan_s={plan_s:.3f} floor_s={floor_s:.3f} ratio={plan_s / floor_s:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
