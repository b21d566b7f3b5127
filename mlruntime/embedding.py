"""Text embedders shared by corpus curation (similarity selection) and the RAG service's local mode.

`LocalEmbedder` is a deterministic, dependency-light vectorizer: signed feature hashing of word unigrams and
bigrams of lower-cased words without a plural -s (the "hashing trick"), log-scaled term frequencies,
L2-normalised. It needs only NumPy, loads nothing
and gives the same vector for the same text on every machine (CRC32, never Python's salted `hash`).
`PackagedEmbedder` is a real sentence-embedding model that a PyPI package ships inside its wheel (WordLlama's
`l2_supercat`, 256 dimensions), loaded from the installed files: nothing is downloaded. It is the RAG local mode's
default when the `rag` extra is installed.
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


class PackagedEmbedder:
    """WordLlama `l2_supercat` at 256 dimensions (wordllama 0.4.0.post1): token embeddings distilled from an LLM's
    embedding table and trained on sentence pairs, average-pooled over the tokens and L2-normalised. The wheel
    carries `weights/l2_supercat_256.safetensors` and `tokenizers/l2_supercat_tokenizer_config.json`; they are
    read from the installed package. `WordLlama.load()` itself is not used: in 0.4.0.post1 `resolve_file` looks for
    the tokenizer under `tokenizer/`, not the shipped `tokenizers/`, misses it and downloads it from the Hugging Face
    Hub (wordllama/wordllama.py, `resolve_file`), which fails offline.
    """

    name = "wordllama:l2_supercat_256"
    dimension = 256
    WEIGHTS = "weights/l2_supercat_256.safetensors"
    TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
    #: Texts pooled at once (tokens x 256 floats each): memory is bounded by the batch, not the file.
    BATCH = 64

    def __init__(self) -> None:
        import wordllama
        from safetensors import safe_open
        from tokenizers import Tokenizer
        from wordllama.inference import WordLlamaInference

        root = Path(wordllama.__file__).parent
        missing = [f for f in (self.WEIGHTS, self.TOKENIZER) if not (root / f).is_file()]
        if missing:
            raise ValueError(f"the installed wordllama package ({root}) lacks {', '.join(missing)}: expected "
                             "wordllama 0.4.0.post1, whose wheel ships them")
        with safe_open(str(root / self.WEIGHTS), framework="np", device="cpu") as f:
            table = f.get_tensor("embedding.weight")
        self._model = WordLlamaInference(table, Tokenizer.from_file(str(root / self.TOKENIZER)))
        self._model.tokenizer.enable_truncation(512)  # the model averages tokens: a child's first 512 are plenty

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self._model.embed(list(texts), norm=True, batch_size=self.BATCH), dtype=np.float32)


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
