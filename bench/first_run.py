"""What a newcomer waits for: the first `make plan` and the first `make test` on a fresh clone.

Clones this repository's HEAD into temporary folders and times:
1. `make plan` on a fresh clone (creates the venv, bootstraps uv, installs the program, plans dev);
2. `make test` right after it (installs the test tools and extras, lint, the suite);
3. `make test` alone on another fresh clone (everything from nothing).

Package caches (uv's, pip's) are whatever this machine has: run it twice to see the warm-cache figures
the goals are stated for (first `make plan` <= 20 s, first `make test` <= 60 s).

    python bench/first_run.py [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode})")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="mlplat-first-run-"))
    try:
        clone = folder / "ml-platform"
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(clone)], check=True)
        plan_s = timed(["make", "plan"], clone)
        print(f"first_make_plan_s={plan_s:.1f}", flush=True)
        test_s = timed(["make", "test"], clone)
        print(f"make_test_after_plan_s={test_s:.1f}", flush=True)
        other = folder / "ml-platform-2"
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(other)], check=True)
        print(f"first_make_test_s={timed(['make', 'test'], other):.1f}", flush=True)
        uv = (clone / ".venv" / "bin" / "uv").exists()
        print(f"installer={'uv' if uv else 'pip'}")
    finally:
        if args.keep:
            print(f"clone kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
