"""The domain config (YAML) and the curation options, checked before anything runs.

```yaml
outlets: [reuters.com, ft.com]        # hosts; subdomains match (markets.ft.com)
keywords: [finance, stock-market]      # matched as whole words in the URL (stock-market ~ stock_market)
filingMinWords: 5                      # filing lines with fewer words are table/figure labels
nearDuplicateThreshold: 0.8            # Jaccard similarity above which two documents are one
```
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlruntime.errors import InputError
from mlruntime.files import InvalidFileError, load_yaml, read_text

KEYS = {"outlets", "keywords", "filingMinWords", "nearDuplicateThreshold"}
HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
SELECTIONS = ("none", "entropy", "similarity", "perplexity", "combined")
# MinHash LSH with b bands of r rows makes two documents of Jaccard similarity s candidates with probability
# 1 - (1 - s^r)^b (Leskovec, Rajaraman and Ullman, "Mining of Massive Datasets", ch. 3.4.3). datatrove removes
# every candidate pair without checking its Jaccard, so the curve is the dedup's recall above the threshold and
# its false-positive rate below it. The bands are chosen from targets, not from the threshold alone: recall of
# MIN_RECALL for pairs RECALL_MARGIN above the threshold, at most MAX_FALSE_POSITIVE for pairs FP_MARGIN below
# it, with the fewest hashes (each costs signature time). For the default 0.8: 84 bands of 18 rows (1,512
# hashes): recall 0.990 at 0.85, false positives 0.85% at 0.6. datatrove's default 14 x 8 misses 1.2% at 0.85 and
# merges 21% of pairs at 0.6; the 10 x 11 used before missed 6% at 0.88.
MIN_RECALL, RECALL_MARGIN = 0.99, 0.05
MAX_FALSE_POSITIVE, FP_MARGIN = 0.01, 0.2
MAX_ROWS = 40
MAX_HASHES = 8192


def lsh_probability(similarity: float, bands: int, rows: int) -> float:
    """The probability that two documents of Jaccard `similarity` share at least one band."""
    return 1.0 - (1.0 - similarity ** rows) ** bands


def choose_bands(recall_at: float, min_recall: float, fp_at: float, max_fp: float) -> tuple[int, int]:
    """(bands, rows) with the fewest hashes whose curve reaches `min_recall` at `recall_at` and stays at most
    `max_fp` at `fp_at`."""
    best: tuple[int, int, int] | None = None
    for rows in range(1, MAX_ROWS + 1):
        need = math.ceil(math.log(1 - min_recall) / math.log(1 - recall_at ** rows))
        if fp_at > 0 and lsh_probability(fp_at, need, rows) > max_fp:
            continue
        if need * rows <= MAX_HASHES and (best is None or need * rows < best[0]):
            best = (need * rows, need, rows)
    if best is None:
        raise InputError(f"nearDuplicateThreshold: no MinHash banding of up to {MAX_ROWS} rows reaches recall "
                         f"{min_recall} at {recall_at} with at most {max_fp:.0%} false positives at {fp_at}")
    return best[1], best[2]


@dataclass(frozen=True)
class DomainConfig:
    outlets: tuple[str, ...]
    keywords: tuple[str, ...]
    filing_min_words: int = 5
    near_duplicate_threshold: float = 0.8

    def lsh_bands(self) -> tuple[int, int]:
        """(buckets, hashes per bucket) from the recall and false-positive targets around the threshold."""
        t = self.near_duplicate_threshold
        return choose_bands(min(0.99, t + RECALL_MARGIN), MIN_RECALL, t - FP_MARGIN, MAX_FALSE_POSITIVE)

    def lsh_curve(self) -> dict[str, float]:
        """The chosen banding's recall at 0.85 / 0.9 and false-positive rate at 0.5 / 0.7 (stats and docs)."""
        b, r = self.lsh_bands()
        return {"recallAt0.85": round(lsh_probability(0.85, b, r), 4),
                "recallAt0.9": round(lsh_probability(0.9, b, r), 4),
                "falsePositiveAt0.5": round(lsh_probability(0.5, b, r), 4),
                "falsePositiveAt0.7": round(lsh_probability(0.7, b, r), 4)}


def _problem(key: str, expected: str, found: Any) -> str:
    return f"{key}: expected {expected}, found {found!r}"


def parse_domain_config(data: Any, where: str) -> DomainConfig:
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a mapping with {', '.join(sorted(KEYS))}, found {type(data).__name__}")
    problems = [f"{k}: unknown key (expected one of {', '.join(sorted(KEYS))})" for k in data if k not in KEYS]
    outlets = data.get("outlets", [])
    if not isinstance(outlets, list) or not all(isinstance(o, str) for o in outlets):
        problems.append(_problem("outlets", "a list of host names", outlets))
        outlets = []
    for host in outlets:
        if not HOST.match(host.lower().strip()):
            problems.append(_problem("outlets", "a host name such as reuters.com (no scheme or path)", host))
    keywords = data.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k.strip() for k in keywords):
        problems.append(_problem("keywords", "a list of non-empty words", keywords))
        keywords = []
    if not outlets and not keywords:
        problems.append("outlets, keywords: expected at least one outlet or keyword, found neither "
                        "(only filings would be kept)")
    min_words = data.get("filingMinWords", 5)
    if isinstance(min_words, bool) or not isinstance(min_words, int) or not 1 <= min_words <= 50:
        problems.append(_problem("filingMinWords", "an integer from 1 to 50", min_words))
    threshold = data.get("nearDuplicateThreshold", 0.8)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.7 <= threshold < 1:
        # Below 0.7 the recall and false-positive targets need more than MAX_HASHES hashes (about 8,000).
        problems.append(_problem("nearDuplicateThreshold", "a number from 0.7 to below 1", threshold))
    if problems:
        raise InputError(f"{where}:\n  " + "\n  ".join(problems))
    return DomainConfig(tuple(sorted({o.lower().strip() for o in outlets})),
                        tuple(sorted({k.lower().strip() for k in keywords})), min_words, float(threshold))


def load_domain_config(path: Path) -> DomainConfig:
    try:
        data, _ = load_yaml(read_text(path), str(path))
    except InvalidFileError as exc:
        raise InputError("\n  ".join(exc.problems)) from None
    except OSError as exc:
        raise InputError(f"--domain-config: cannot read {path}: {exc.strerror}") from None
    return parse_domain_config(data, str(path))


@dataclass(frozen=True)
class CurateOptions:
    inputs: tuple[str, ...]
    output: str
    domain: DomainConfig
    max_tokens: int = 4096
    tokenizer: str = "bytes"
    eos_token: str | None = None  # the tokenizer's end-of-text token between documents (None: looked up)
    select: str = "none"
    keep_fraction: float = 0.1
    task_data: str | None = None
    embedder: str = "local"
    scorer: str | None = None
    executor: str = "local"
    workers: int = 1
    region: str | None = None
    keep_work: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> tuple[str, ...]:
        return {"none": (), "entropy": ("entropy",), "similarity": ("similarity",),
                "perplexity": ("perplexity",), "combined": ("entropy", "similarity", "perplexity")}[self.select]


def check_options(opts: CurateOptions, bedrock_limit: tuple[str, int] | None) -> None:
    problems: list[str] = []
    if opts.max_tokens < 16:
        problems.append(_problem("--max-tokens", "at least 16", opts.max_tokens))
    if bedrock_limit and opts.max_tokens > bedrock_limit[1]:
        problems.append(f"--max-tokens: {bedrock_limit[0]} takes at most {bedrock_limit[1]:,} tokens per "
                        f"continued pre-training record, found {opts.max_tokens:,}")
    if opts.select not in SELECTIONS:
        problems.append(_problem("--select", " | ".join(SELECTIONS), opts.select))
    if not (0 < opts.keep_fraction <= 1) or math.isnan(opts.keep_fraction):
        problems.append(_problem("--keep-fraction", "a fraction in (0, 1]", opts.keep_fraction))
    metrics = opts.metrics() if opts.select in SELECTIONS else ()
    if "similarity" in metrics and not opts.task_data:
        problems.append(f"--task-data: --select {opts.select} ranks documents by similarity to task examples; "
                        "pass a JSONL file of {\"text\": ...} records")
    if "perplexity" in metrics and not (opts.scorer or "").startswith("sagemaker:"):
        problems.append(f"--scorer: --select {opts.select} needs the target model's perplexity; pass "
                        f"sagemaker:ENDPOINT (a TGI endpoint), found {opts.scorer!r}")
    if not (opts.embedder == "local" or opts.embedder.startswith("sagemaker:") and len(opts.embedder) > 10):
        problems.append(_problem("--embedder", "local or sagemaker:ENDPOINT", opts.embedder))
    if opts.executor not in ("local", "ray"):
        problems.append(_problem("--executor", "local or ray", opts.executor))
    if opts.workers < 1:
        problems.append(_problem("--workers", "a positive integer", opts.workers))
    if problems:
        raise InputError("\n  ".join(problems))
