"""Text embedders shared by corpus curation (similarity selection) and the RAG service's local mode.

`LocalEmbedder` is a deterministic, dependency-light vectorizer: signed feature hashing of word unigrams and
bigrams of lower-cased words without a plural -s (the "hashing trick"), log-scaled term frequencies,
L2-normalised. It needs only NumPy, loads nothing
and gives the same vector for the same text on every machine (CRC32, never Python's salted `hash`).
`SageMakerEmbedder` calls a deployed BGE endpoint with the JumpStart sentence-similarity payload
(`{"text_inputs": [...], "mode": "embedding"}` -> `{"embedding": [[...]]}`, as `mlplat invoke` sends).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlruntime.sagemaker import Target, invoke_json

WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")
BGE_MAX_CHARS = 2_000  # BGE Large reads 512 tokens; ~4 characters per token leaves the tail out rather than fail


def _stem(word: str) -> str:
    """Plural -s off (yields ~ yield), the only normalisation: enough for topical similarity, no word lists."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def words(text: str) -> list[str]:
    return [_stem(w) for w in WORD.findall(text.lower())]


class LocalEmbedder:
    name = "local"

    def __init__(self, dimension: int = 1024) -> None:
        self.dimension = dimension

    def _features(self, text: str) -> dict[int, float]:
        tokens = words(text)
        counts: dict[str, int] = {}
        for gram in tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]:
            counts[gram] = counts.get(gram, 0) + 1
        features: dict[int, float] = {}
        for gram, count in counts.items():
            h = zlib.crc32(gram.encode())
            index, sign = h % self.dimension, (1.0 if (h >> 31) & 1 else -1.0)
            features[index] = features.get(index, 0.0) + sign * (1.0 + np.log(count))
        return features

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for index, value in self._features(text).items():
                out[row, index] = value
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


class SageMakerEmbedder:
    """Embeddings from a deployed BGE endpoint; `client` is a `sagemaker-runtime` client."""

    def __init__(self, target: Target, client_factory: Callable[[], Any], batch_size: int = 16) -> None:
        self.name = f"sagemaker:{target}"
        self.target = target
        self._client_factory = client_factory
        self._client: Any = None
        self.batch_size = batch_size

    def __getstate__(self) -> dict[str, Any]:  # pipeline steps are pickled to worker processes: no live client
        return {**self.__dict__, "_client": None}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self._client = self._client or self._client_factory()
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [t[:BGE_MAX_CHARS] for t in texts[start:start + self.batch_size]]
            body = invoke_json(self._client, self.target, {"text_inputs": batch, "mode": "embedding"})
            vectors = body.get("embedding") if isinstance(body, dict) else None
            if not isinstance(vectors, list) or len(vectors) != len(batch):
                raise ValueError(f"endpoint {self.target} answered without one embedding per input: "
                                 f"{str(body)[:200]}")
            rows.extend(vectors)
        matrix = np.asarray(rows, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1.0, norms)
