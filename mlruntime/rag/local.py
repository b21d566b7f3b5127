"""The local mode's index: children in FAISS (inner product over L2-normalised vectors), their text and the
parents beside it in `chunks.json`. Re-ingesting a document removes its old children first.

Three searches (`searcher`): BM25 over the children's words (lexical, idf-weighted: a rare topic word such as
"glacier" decides), the dense index, and both fused by reciprocal rank (Cormack, Clarke and Büttcher, SIGIR 2009:
score = sum of 1 / (60 + rank)). `mlplat rag` defaults to hybrid with the packaged sentence-embedding model, and to
BM25 alone with the hashing embedder (a fallback that knows no meaning: it is never fused by default).
bench/rag_paraphrase.py (questions sharing no word with their document) and bench/rag_retrieval.py (buried codes
among filler) measure all three: neither BM25 nor dense wins both, hybrid has the best worst case.

Local and deployed retrieval differ: the deployed service searches its collection by k-NN only (BGE vectors,
components/rag/handlers/query.py), while the local default is hybrid. To reproduce the deployed search locally, use
`--search dense` with an embedding model of the same family (`--embedder-model`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from mlruntime.embedding import LocalEmbedder, words
from mlruntime.rag.split import split_document

SUFFIXES = (".txt", ".md")
SEARCHES = ("hybrid", "dense", "bm25")
RRF_K = 60


class Bm25:
    """Okapi BM25 (k1 = 1.2, b = 0.75, the Lucene/OpenSearch defaults) over tokenized texts."""

    def __init__(self, texts: dict[str, str], k1: float = 1.2, b: float = 0.75) -> None:
        import math
        from collections import Counter

        self.k1, self.b = k1, b
        self.docs = {key: Counter(words(text)) for key, text in texts.items()}
        self.lengths = {key: sum(c.values()) for key, c in self.docs.items()}
        self.average = (sum(self.lengths.values()) / len(self.lengths)) if self.lengths else 0.0
        self.postings: dict[str, list[tuple[str, int]]] = {}
        for key, counts in self.docs.items():
            for term, count in counts.items():
                self.postings.setdefault(term, []).append((key, count))
        n = len(self.docs)
        self.idf = {term: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for term, p in self.postings.items()}

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """The `k` best texts for `query` (only texts sharing a term with it are scored: an inverted index)."""
        scores: dict[str, float] = {}
        for term in set(words(query)):
            idf = self.idf.get(term)
            for key, count in self.postings.get(term, ()):
                norm = self.k1 * (1 - self.b + self.b * self.lengths[key] / (self.average or 1))
                scores[key] = scores.get(key, 0.0) + idf * count * (self.k1 + 1) / (count + norm)
        return sorted(scores.items(), key=lambda kv: -kv[1])[:k]


class LocalIndex:
    def __init__(self, path: Path, embedder: Any = None) -> None:
        self.path = Path(path)
        self.embedder = embedder or LocalEmbedder()
        self.meta: dict[str, Any] = {"dimension": self.embedder.dimension, "embedder": self.embedder.name,
                                     "next": 0, "children": {},
                                     "parents": {}, "docs": {}}
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.embedder.dimension))
        if (self.path / "chunks.json").exists():
            self.meta = json.loads((self.path / "chunks.json").read_text(encoding="utf-8"))
            self.index = faiss.read_index(str(self.path / "index.faiss"))
            built_with = self.meta.get("embedder", "local")
            if built_with != self.embedder.name:
                raise ValueError(f"{self.path} was built with the {built_with} embedder; this one is "
                                 f"{self.embedder.name} (pass the same --embedder or --embedder-model to ingest "
                                 'and query; the hashing embedder is called "local")')
            if self.meta["dimension"] != self.embedder.dimension:
                raise ValueError(f"{self.path} was built with {self.meta['dimension']}-dimensional vectors; this "
                                 f"embedder makes {self.embedder.dimension}")

    def save(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.index, str(self.path / "index.faiss"))
        (self.path / "chunks.json").write_text(json.dumps(self.meta), encoding="utf-8")

    def remove(self, doc_id: str) -> int:
        ids = self.meta["docs"].pop(doc_id, [])
        if ids:
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))
        for i in ids:
            self.meta["children"].pop(str(i), None)
        for pid in [p for p in self.meta["parents"] if p.startswith(f"{doc_id}#")]:
            del self.meta["parents"][pid]
        return len(ids)

    def add(self, doc_id: str, text: str, **sizes: int) -> tuple[int, int]:
        """(parents, children) added; a document already in the index is replaced, never duplicated."""
        self.remove(doc_id)
        parents, children = split_document(doc_id, text, **sizes)
        if not children:
            return 0, 0
        start = self.meta["next"]
        ids = np.arange(start, start + len(children), dtype=np.int64)
        self.index.add_with_ids(self.embedder.embed([c.text for c in children]).astype(np.float32), ids)
        self.meta["next"] = start + len(children)
        self.meta["docs"][doc_id] = ids.tolist()
        for i, child in zip(ids.tolist(), children, strict=True):
            self.meta["children"][str(i)] = {"id": child.id, "parent_id": child.parent_id, "text": child.text}
        self.meta["parents"].update({p.id: p.text for p in parents})
        return len(parents), len(children)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[dict[str, Any], float]]:
        if self.index.ntotal == 0:
            return []
        scores, ids = self.index.search(vector.reshape(1, -1).astype(np.float32), min(k, self.index.ntotal))
        return [(self.meta["children"][str(i)], float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]

    def bm25(self) -> Bm25:
        if getattr(self, "_bm25", None) is None or self._bm25_size != len(self.meta["children"]):
            self._bm25 = Bm25({i: c["text"] for i, c in self.meta["children"].items()})
            self._bm25_size = len(self.meta["children"])
        return self._bm25

    def searcher(self, question: str, mode: str = "hybrid"):
        """A `search(vector, k)` for `retrieve`: dense, BM25 over `question`, or both fused by reciprocal rank."""
        if mode not in SEARCHES:
            raise ValueError(f"search: expected one of {', '.join(SEARCHES)}, found {mode!r}")

        by_id = {c["id"]: c for c in self.meta["children"].values()}

        def search(vector: np.ndarray, k: int) -> list[tuple[dict[str, Any], float]]:
            depth = max(k, 20)
            ranked: list[list[str]] = []
            if mode in ("dense", "hybrid"):
                ranked.append([c["id"] for c, _ in self.search(vector, depth)])
            if mode in ("bm25", "hybrid"):
                ranked.append([self.meta["children"][i]["id"] for i, _ in self.bm25().search(question, depth)])
            fused: dict[str, float] = {}
            for ranking in ranked:
                for rank, child_id in enumerate(ranking):
                    fused[child_id] = fused.get(child_id, 0.0) + 1.0 / (RRF_K + rank + 1)
            best = sorted(fused.items(), key=lambda kv: -kv[1])[:k]
            return [(by_id[child_id], score) for child_id, score in best]

        return search

    def parent(self, parent_id: str) -> str:
        return self.meta["parents"][parent_id]


def ingest_folder(index: LocalIndex, folder: Path, **sizes: int) -> dict[str, int]:
    """Every .txt / .md file under `folder`, its path relative to the folder as the document id."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
    counts = {"documents": 0, "replaced": 0, "parents": 0, "children": 0}
    for path in files:
        doc_id = path.relative_to(folder).as_posix()
        counts["replaced"] += doc_id in index.meta["docs"]
        parents, children = index.add(doc_id, path.read_text(encoding="utf-8", errors="replace"), **sizes)
        counts["documents"] += 1
        counts["parents"] += parents
        counts["children"] += children
    index.save()
    return counts
