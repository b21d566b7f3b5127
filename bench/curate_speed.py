"""Corpus curation speed and memory (`mlplat corpus curate`, local executor), on a generated corpus.

Reports, for a synthetic financial corpus (mlplat.corpus.synthetic: outlet, keyword, off-domain and filing
records with exact and near duplicates) split into 8 files:
- docs/s and MB/s (input JSONL bytes) with 1 and 2 workers on --docs documents (default 20,000);
- peak resident memory of a 1-worker run at --small and --large documents (default 10,000 and 40,000): the
  pipeline streams, so the peak must not grow with the corpus;
- the share of time per stage (wall clock per datatrove stage, from stats.json).

Each run is a fresh process (its peak RSS read with getrusage after it exits). Usage:
    python bench/curate_speed.py [--docs 20000] [--small 10000] [--large 40000] [--select entropy]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUN = """
import json, sys
from mlruntime.corpus.config import CurateOptions, parse_domain_config
from mlplat.corpus.pipeline import curate, expand_inputs
from mlplat.corpus.synthetic import DOMAIN_CONFIG
src, out, workers, select = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
opts = CurateOptions(inputs=(src,), output=out, domain=parse_domain_config(DOMAIN_CONFIG, "bench"),
                     max_tokens=4096, workers=workers, select=select, keep_fraction=0.5)
files, _ = expand_inputs(opts.inputs)
stats = curate(opts, files)
print(json.dumps(stats))
"""


def write_corpus(folder: Path, docs: int, parts: int = 8) -> int:
    from mlplat.corpus.synthetic import generate

    folder.mkdir(parents=True, exist_ok=True)
    handles = [(folder / f"part-{i:02d}.jsonl").open("w") for i in range(parts)]
    for i, record in enumerate(generate(docs, seed=42)):
        handles[i % parts].write(json.dumps(record) + "\n")
    for handle in handles:
        handle.close()
    return sum(p.stat().st_size for p in folder.iterdir())


def run(src: Path, out: Path, workers: int, select: str) -> tuple[dict, float, float]:
    """(stats, wall seconds, peak RSS in MiB of the largest process of the run)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", RUN, str(src), str(out), str(workers), select], cwd=ROOT,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(proc.stderr[-2000:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall, max(peak, before) / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--docs", type=int, default=20_000)
    p.add_argument("--small", type=int, default=10_000)
    p.add_argument("--large", type=int, default=40_000)
    p.add_argument("--select", default="none", choices=("none", "entropy"))
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        print(f"generating {args.docs:,} documents ...", file=sys.stderr, flush=True)
        size = write_corpus(base / "speed", args.docs)
        print(f"\ncorpus: {args.docs:,} documents, {size / 1e6:.1f} MB in 8 files; select={args.select}")
        print(f"{'workers':>8} {'seconds':>8} {'docs/s':>8} {'MB/s':>6}")
        shares: dict = {}
        steps: dict = {}
        for workers in (1, 2):
            print(f"  running with {workers} worker(s) ...", file=sys.stderr, flush=True)
            stats, wall, _ = run(base / "speed", base / f"out-{workers}", workers, args.select)
            print(f"{workers:>8} {wall:>8.1f} {args.docs / wall:>8.0f} {size / 1e6 / wall:>6.2f}")
            if workers == 1:
                shares, steps = stats["seconds"], stats["stepSeconds"]
        total = sum(v for k, v in shares.items() if k != "total")
        print("\ntime per stage (1 worker):")
        for stage, seconds in shares.items():
            if stage != "total":
                print(f"  {stage:<10} {seconds:>7.2f} s  {100 * seconds / total:>5.1f} %")
        step_total = sum(steps.values())
        print("\ntime per pipeline step (1 worker, datatrove's timers; MinHash stage 1 times its whole loop, so its "
              "figure includes the steps streaming into it):")
        for step, seconds in sorted(steps.items(), key=lambda kv: -kv[1]):
            print(f"  {step:<40} {seconds:>7.2f} s  {100 * seconds / step_total:>5.1f} %")
        print("\npeak memory (1 worker, largest process):")
        peaks = {}
        for docs in (args.small, args.large):
            # Each size in a fresh bench process: getrusage keeps the maximum over all children so far.
            print(f"  generating and running {docs:,} documents ...", file=sys.stderr, flush=True)
            write_corpus(base / f"mem-{docs}", docs)
            probe = subprocess.run([sys.executable, __file__, "--peak-of", str(base / f"mem-{docs}")],
                                   capture_output=True, text=True, check=True)
            peaks[docs] = float(probe.stdout.strip())
            print(f"  {docs:>7,} documents: {peaks[docs]:>7.1f} MiB")
        growth = peaks[args.large] / peaks[args.small] - 1
        print(f"  growth from {args.small:,} to {args.large:,} documents: {100 * growth:+.1f} %")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--peak-of":
        _, wall, peak = run(Path(sys.argv[2]), Path(sys.argv[2] + "-out"), 1, "none")
        print(peak)
    else:
        main()
