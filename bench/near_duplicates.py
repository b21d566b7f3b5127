"""How well the curation's MinHash LSH finds near-duplicates, on generated pairs with known Jaccard similarity.

Each pair is a 300-word document and a copy with some words replaced; its Jaccard similarity is measured exactly on
the shingles datatrove itself computes (word 5-grams of simplified text, `MinhashDedupSignature.get_shingles`), and
the pair is a candidate when datatrove's own signatures (`get_signature`) agree in at least one band: datatrove
removes every candidate, so that is the dedup's decision. Reported per similarity bin, for the banding curation
chooses (`DomainConfig.lsh_bands`), the 10 x 11 it used before and datatrove's default 14 x 8.

    python bench/near_duplicates.py [--pairs 4000] [--seed 7]
prints one line per banding: recall at 0.85-0.90 and 0.90-0.95, false positives at 0.55-0.65 and 0.65-0.75
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataclasses import replace  # noqa: E402

from datatrove.pipeline.dedup.minhash import MinhashDedupSignature  # noqa: E402

from mlplat.corpus.pipeline import RegexWords, minhash_config  # noqa: E402
from mlruntime.corpus.config import DomainConfig, lsh_probability  # noqa: E402

BINS = {"recall 0.85-0.90": (0.85, 0.90), "recall 0.90-0.95": (0.90, 0.95),
        "false positives 0.55-0.65": (0.55, 0.65), "false positives 0.65-0.75": (0.65, 0.75)}


def pairs(count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    # Letters only: datatrove's text simplification drops digits.
    vocab = sorted({"".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9)))
                    for _ in range(20_000)})
    out = []
    for _ in range(count):
        words = [rng.choice(vocab) for _ in range(300)]
        changed = list(words)
        # Half the pairs near the threshold and above (Jaccard ~0.8-0.97 on 5-grams), half below (~0.45-0.8).
        changes = rng.randint(2, 8) if rng.random() < 0.5 else rng.randint(9, 25)
        for i in rng.sample(range(300), changes):
            changed[i] = rng.choice(vocab)
        out.append((" ".join(words), " ".join(changed)))
    return out


DOMAIN = DomainConfig(outlets=("example.com",), keywords=())


def signer(bands: int, rows: int) -> MinhashDedupSignature:
    """The curation's own signature step (its config and word tokenizer), with `bands` x `rows`."""
    config = replace(minhash_config(DOMAIN), num_buckets=bands, hashes_per_bucket=rows)
    return MinhashDedupSignature("memory://unused", config=config, language=RegexWords())


def measure(docs: list[tuple[str, str]], bands: int, rows: int) -> dict[str, float]:
    sign = signer(bands, rows)
    hits: dict[str, list[bool]] = {name: [] for name in BINS}
    curve: dict[str, list[float]] = {name: [] for name in BINS}
    for a, b in docs:
        sa, sb = sign.get_shingles(a), sign.get_shingles(b)
        x, y = set(sa.ravel().tolist()), set(sb.ravel().tolist())
        jaccard = len(x & y) / len(x | y)
        candidate = any(p == q for p, q in zip(sign.get_signature(sa), sign.get_signature(sb), strict=True))
        for name, (low, high) in BINS.items():
            if low <= jaccard < high:
                hits[name].append(candidate)
                curve[name].append(lsh_probability(jaccard, bands, rows))
    return {name: (float(np.mean(v)) if v else float("nan")) for name, v in hits.items()} | \
        {f"curve {name}": (float(np.mean(v)) if v else float("nan")) for name, v in curve.items()} | \
        {f"n {name.split()[-1]}": len(v) for name, v in hits.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    docs = pairs(args.pairs, args.seed)
    chosen = DOMAIN.lsh_bands()
    for label, (b, r) in (("chosen", chosen), ("before (10 x 11)", (10, 11)), ("datatrove default", (14, 8))):
        result = measure(docs, b, r)
        print(f"{label} {b}x{r}: " + ", ".join(
            f"{k} {v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in result.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
