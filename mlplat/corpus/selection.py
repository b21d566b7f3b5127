"""Data selection (the paper's ETA-DACP / ETS-DACP): score every deduplicated document, keep the best fraction.

- entropy: Shannon entropy of the document's token types (diversity, ETA-DACP-ent);
- similarity: cosine similarity of its embedding to the mean embedding of the task examples (ETS-DACP);
- perplexity: the target model's perplexity of the document (novelty, ETA-DACP-ppl), from a TGI endpoint's
  prompt-token log-probabilities (`decoder_input_details`);
- combined: the mean of the three metrics' percentile ranks (ETS-DACP-com), so no scale dominates.

Higher is better for all three. The scores are written per rank; the orchestrator ranks them globally and writes
one keep-mask per rank, which the emit stage applies.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep

from mlplat.corpus import tokens as tokenizers
from mlruntime.sagemaker import Target, invoke_json

SCORER_MAX_INPUT_TOKENS = 1024  # TGI truncates the prompt to this many tokens ("truncate" parameter)
EMBED_BATCH = 64


def token_entropy(ids: list[int]) -> float:
    if not ids:
        return 0.0
    counts = np.fromiter(Counter(ids).values(), dtype=np.float64)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def perplexity_from_tgi(body: Any) -> float:
    """exp(-mean log p) over the prompt tokens TGI scored (the first has no log-probability)."""
    first = body[0] if isinstance(body, list) and body else body
    prefill = (first or {}).get("details", {}).get("prefill") if isinstance(first, dict) else None
    logprobs = [t["logprob"] for t in prefill or []
                if isinstance(t, dict) and isinstance(t.get("logprob"), int | float)]
    if not logprobs:
        raise ValueError(f"scorer endpoint returned no prompt log-probabilities (details.prefill): {str(body)[:200]}")
    return math.exp(-sum(logprobs) / len(logprobs))


class TgiScorer:
    """Perplexity under the target model served by a TGI endpoint (`sagemaker:ENDPOINT[/COMPONENT]`)."""

    def __init__(self, target: Target, client_factory: Callable[[], Any]) -> None:
        self.target = target
        self._client_factory = client_factory
        self._client: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_client": None}

    def perplexity(self, text: str) -> float:
        self._client = self._client or self._client_factory()
        payload = {"inputs": text, "parameters": {"max_new_tokens": 1, "details": True,
                                                  "decoder_input_details": True,
                                                  "truncate": SCORER_MAX_INPUT_TOKENS}}
        return perplexity_from_tgi(invoke_json(self._client, self.target, payload))


class Scorer(PipelineStep):
    """Computes the selection metrics for a rank's documents and writes them to `scores/<rank>.npz`."""

    name = "🎯 Selection scores"
    type = "📊 - SCORER"

    def __init__(self, work: str, metrics: tuple[str, ...], tokenizer: str, embedder: Any = None,
                 centroid: list[float] | None = None, scorer: TgiScorer | None = None) -> None:
        super().__init__()
        self.work, self.metrics, self.tokenizer = work, metrics, tokenizer
        self.embedder, self.centroid, self.scorer = embedder, centroid, scorer

    def _similarities(self, texts: list[str]) -> list[float]:
        centroid = np.asarray(self.centroid, dtype=np.float32)
        return [float(v) for v in self.embedder.embed(texts) @ centroid]

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        tokenizer = tokenizers.load(self.tokenizer)
        scores: dict[str, list[float]] = {m: [] for m in self.metrics}
        batch: list[str] = []
        for doc in data:
            with self.track_time():
                if "entropy" in self.metrics:
                    scores["entropy"].append(token_entropy(tokenizer.encode(doc.text, add_special_tokens=False).ids))
                if "perplexity" in self.metrics:
                    scores["perplexity"].append(self.scorer.perplexity(doc.text))
                if "similarity" in self.metrics:
                    batch.append(doc.text)
                    if len(batch) == EMBED_BATCH:
                        scores["similarity"] += self._similarities(batch)
                        batch = []
            self.stat_update("scored")
            yield doc
        if batch:
            scores["similarity"] += self._similarities(batch)
        with get_datafolder(self.work).open(f"scores/{rank:05d}.npz", "wb") as out:
            np.savez(out, **{m: np.asarray(v, dtype=np.float64) for m, v in scores.items()})


def percentile_ranks(values: np.ndarray) -> np.ndarray:
    """Rank of each value in [0, 1], ties sharing their mean rank."""
    if len(values) <= 1:
        return np.ones_like(values, dtype=np.float64)
    order = values.argsort(kind="stable")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    sorted_values = values[order]
    _, first, counts = np.unique(sorted_values, return_index=True, return_counts=True)
    for start, count in zip(first, counts, strict=True):
        if count > 1:
            ranks[order[start:start + count]] = ranks[order[start:start + count]].mean()
    return ranks / (len(values) - 1)


def keep_masks(per_rank: list[dict[str, np.ndarray]], metrics: tuple[str, ...], keep_fraction: float
               ) -> list[np.ndarray]:
    """One boolean mask per rank keeping the top `keep_fraction` of all documents (at least one)."""
    sizes = [len(next(iter(r.values()))) if r else 0 for r in per_rank]
    total = sum(sizes)
    if total == 0:
        return [np.zeros(0, dtype=bool) for _ in per_rank]
    columns = {m: np.concatenate([r[m] for r in per_rank if m in r]) for m in metrics}
    score = columns[metrics[0]] if len(metrics) == 1 else np.mean([percentile_ranks(c) for c in columns.values()],
                                                                   axis=0)
    keep = max(1, round(total * keep_fraction))
    chosen = np.zeros(total, dtype=bool)
    chosen[np.argsort(-score, kind="stable")[:keep]] = True
    return list(np.split(chosen, np.cumsum(sizes)[:-1]))


class SelectionFilter(PipelineStep):
    """Keeps the documents the rank's mask (`select/<rank>.npy`) marks; the stream is in the same order as when
    it was scored (the same work file through the same dedup filter)."""

    name = "✅ Data selection"
    type = "🔻 - FILTER"

    def __init__(self, work: str) -> None:
        super().__init__()
        self.work = work

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        folder = get_datafolder(self.work)
        with folder.open(f"select/{rank:05d}.npy", "rb") as handle:
            mask = np.load(handle)
        for index, doc in enumerate(data):
            if index < len(mask) and mask[index]:
                self.stat_update("selected")
                yield doc
            else:
                self.stat_update("not_selected")


def task_centroid(path: str, embedder: Any) -> list[float]:
    texts: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise ValueError(f"--task-data {path}:{number}: expected a JSON object per line") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise ValueError(f"--task-data {path}:{number}: expected {{\"text\": ...}}, found {line[:80]!r}")
            texts.append(record["text"])
    if not texts:
        raise ValueError(f"--task-data {path}: expected at least one {{\"text\": ...}} record, found none")
    centroid = embedder.embed(texts).mean(axis=0)
    norm = float(np.linalg.norm(centroid))
    return (centroid / (norm or 1.0)).tolist()


