"""Parent and child chunks, as the post's two recursive splitters make them.

A document is split into parents (default 2,000 characters), each parent into children (default 400, 50 of
overlap). Splits prefer paragraph, then line, then sentence, then word boundaries. Ids are stable and derive
from the document id, so re-ingesting a document replaces its chunks: `<doc>#p<i>` and `<doc>#p<i>c<j>`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEPARATORS = ("\n\n", "\n", ". ", " ")


@dataclass(frozen=True)
class Chunk:
    id: str
    parent_id: str | None
    doc_id: str
    text: str


def _pieces(text: str, size: int, separators: tuple[str, ...]) -> list[str]:
    """Pieces no longer than `size`, cut at the coarsest separator that makes them fit."""
    if len(text) <= size:
        return [text]
    for i, sep in enumerate(separators):
        if sep in text:
            parts = [p + sep for p in text.split(sep)]
            parts[-1] = parts[-1][: -len(sep)]
            out: list[str] = []
            for part in parts:
                out += [part] if len(part) <= size else _pieces(part, size, separators[i + 1:])
            return out
    return [text[i:i + size] for i in range(0, len(text), size)]


def split_text(text: str, size: int, overlap: int = 0) -> list[str]:
    """Greedy merge of pieces into chunks of at most `size` characters, each starting with up to `overlap`
    characters of the previous chunk's tail (whole pieces only)."""
    if overlap >= size:
        raise ValueError(f"overlap ({overlap}) must be smaller than the chunk size ({size})")
    chunks: list[str] = []
    current: list[str] = []
    for piece in _pieces(text, size, SEPARATORS):
        if current and sum(map(len, current)) + len(piece) > size:
            chunks.append("".join(current).strip())
            tail: list[str] = []
            for prev in reversed(current):
                if sum(map(len, tail)) + len(prev) > overlap:
                    break
                tail.insert(0, prev)
            current = tail if sum(map(len, tail)) + len(piece) <= size else []
        current.append(piece)
    if current and "".join(current).strip():
        chunks.append("".join(current).strip())
    return [c for c in chunks if c]


def split_document(doc_id: str, text: str, *, parent_size: int = 2000, child_size: int = 400,
                   child_overlap: int = 50) -> tuple[list[Chunk], list[Chunk]]:
    """(parents, children) of one document."""
    parents, children = [], []
    for i, parent_text in enumerate(split_text(text, parent_size)):
        parent = Chunk(f"{doc_id}#p{i}", None, doc_id, parent_text)
        parents.append(parent)
        for j, child_text in enumerate(split_text(parent_text, child_size, child_overlap)):
            children.append(Chunk(f"{parent.id}c{j}", parent.id, doc_id, child_text))
    return parents, children


SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.split(text) if s.strip()]
