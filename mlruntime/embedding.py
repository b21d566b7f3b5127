"""Text embedders shared by corpus curation (similarity selection) and the RAG service's local mode.

`LocalEmbedder` is a deterministic, dependency-light vectorizer: signed feature hashing of word unigrams and
bigrams of lower-cased words without a plural -s (the "hashing trick"), log-scaled term frequencies,
L2-normalised. It needs only NumPy, loads nothing
and gives the same vector for the same text on every machine (CRC32, never Python's salted `hash`).
`SageMakerEmbedder` calls a deployed BGE endpoint with the JumpStart sentence-similarity payload
(`{"text_inputs": [...], "mode": "embedding"}` -> `{"embedding": [[...]]}`, as `mlplat invoke` sends).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
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


class ModelEmbedder:
    """A sentence-embedding model from a local folder, run by ONNX Runtime: nothing is downloaded.

    The folder is a sentence-transformers model with its ONNX export (what `optimum-cli export onnx` or
    sentence-transformers' `backend="onnx"` writes): `tokenizer.json` (Hugging Face tokenizers), `model.onnx` at the
    top or under `onnx/`, taking `input_ids` and `attention_mask` (and `token_type_ids` if it declares it) and giving
    the token states first; `1_Pooling/config.json` chooses CLS or mean pooling (mean when absent). Vectors are
    L2-normalised. `query_instruction` is prepended to queries only (`embed_queries`), as BGE expects.
    """

    def __init__(self, folder: str | Path, *, query_instruction: str = "", max_tokens: int = 512) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        model = next((p for p in (self.folder / "model.onnx", self.folder / "onnx" / "model.onnx") if p.is_file()),
                     None)
        tokenizer = self.folder / "tokenizer.json"
        if model is None or not tokenizer.is_file():
            found = sorted(p.name for p in self.folder.iterdir()) if self.folder.is_dir() else "no such folder"
            raise ValueError(f"{self.folder}: expected a model folder with tokenizer.json and model.onnx (or "
                             f"onnx/model.onnx); found {found}")
        self.name = f"model:{self.folder.name}"
        self.query_instruction = query_instruction
        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.enable_padding()
        self._session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        pooling = self.folder / "1_Pooling" / "config.json"
        config = json.loads(pooling.read_text()) if pooling.is_file() else {}
        self.pooling = "cls" if config.get("pooling_mode_cls_token") else "mean"
        self.dimension = int(config.get("word_embedding_dimension") or self._session.get_outputs()[0].shape[-1])

    #: Texts run through the model at once. The token states of one batch are batch x tokens x hidden floats (a
    #: 345 KB file's 1,015 children in one batch peaked at 2.3 GB): batches bound that whatever the file's size.
    BATCH = 32

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.concatenate([self._embed_batch(texts[i:i + self.BATCH]) for i in range(0, len(texts), self.BATCH)])

    def _embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        states = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        if self.pooling == "cls":
            pooled = states[:, 0, :]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        pooled = pooled.astype(np.float32)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.where(norms == 0, 1.0, norms)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed([self.query_instruction + t for t in texts])
