"""How long `make test` takes once the venv exists (the goal: <= 30 s on the 2-core machines here).

Runs `make test` (ruff, then the suite on two workers) --runs times and prints each wall time and the median:

    python bench/test_speed.py [--runs 3]

A first run after a change also compiles the changed modules; the median of three is the figure to quote.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="how many times to run it (default 3)")
    args = parser.parse_args()
    times = []
    for run in range(1, args.runs + 1):
        start = time.perf_counter()
        done = subprocess.run(["make", "test"], cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        summary = (done.stdout.strip().splitlines() or [""])[-1]
        print(f"run {run}/{args.runs}: {times[-1]:.1f} s  {summary}", flush=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
            return done.returncode
    print(f"make_test_s={statistics.median(times):.1f} runs={args.runs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
