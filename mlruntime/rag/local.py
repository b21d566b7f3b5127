"""The local mode's index: children in FAISS (inner product over L2-normalised vectors), their text and the
parents beside it in `chunks.json`. Re-ingesting a document removes its old children first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from mlruntime.embedding import LocalEmbedder
from mlruntime.rag.split import split_document

SUFFIXES = (".txt", ".md")


class LocalIndex:
    def __init__(self, path: Path, embedder: Any = None) -> None:
        self.path = Path(path)
        self.embedder = embedder or LocalEmbedder()
        self.meta: dict[str, Any] = {"dimension": self.embedder.dimension, "next": 0, "children": {},
                                     "parents": {}, "docs": {}}
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.embedder.dimension))
        if (self.path / "chunks.json").exists():
            self.meta = json.loads((self.path / "chunks.json").read_text(encoding="utf-8"))
            self.index = faiss.read_index(str(self.path / "index.faiss"))
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
