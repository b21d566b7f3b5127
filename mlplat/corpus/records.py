"""Text records for Bedrock continued pre-training: whole sentences, never half a word.

Bedrock reads each `{"input": …}` line as text. A record cut every N tokens would start and end in the middle of
a word almost every time ("ebt rate liquidity …", "… credit cr"): noise at both edges of every record, and
non-ASCII text cut inside a character. So records are built from units that end on a boundary:

- the text is split into sentences (a `.`, `!`, `?` or `…`, closing quotes or brackets, then whitespace) and
  paragraphs (a blank line); documents end on a paragraph break;
- units are packed greedily while the record stays within `max_tokens` (counted by re-tokenizing the record,
  so merges across a boundary cannot push it over);
- a sentence longer than the limit is split on whitespace; a single "word" longer than the limit (a URL, a
  hash, a table row without spaces) cannot be placed without cutting it, so it is left out and counted.

The GPU path keeps its packed token stream (`chunking.py`): pre-training packs tokens back to back.

The limit is the model's, in the model's tokenizer. Where the tokenizer is not public (Amazon Titan), the
default byte tokenizer counts one token per UTF-8 byte, an upper bound for any byte-level BPE or byte-fallback
vocabulary: a record that fits in bytes fits the model, at the price of shorter records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

#: Sentence ends (with closing quotes/brackets) or paragraph breaks, and the whitespace after them.
_BOUNDARY = re.compile(r"(?:(?<=[.!?\u2026])[\"'\u2019\u201d)\]]*[ \t\r\f\v]+|\s*\n\s*)")
_WORD = re.compile(r"\S+\s*")
PARAGRAPH = "\n\n"


def units(text: str) -> list[str]:
    """`text` as consecutive pieces, each ending on a sentence or paragraph boundary (with its whitespace):
    `"".join(units(text)) == text`."""
    pieces, start = [], 0
    for match in _BOUNDARY.finditer(text):
        if match.end() > start:
            pieces.append(text[start:match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return [p for p in pieces if p]


class RecordPacker:
    """Packs documents into text records of at most `max_tokens` tokens (`count(text)` tokens each)."""

    def __init__(self, max_tokens: int, count: Callable[[str], int]) -> None:
        if max_tokens < 1:
            raise ValueError(f"max_tokens: expected at least 1, found {max_tokens}")
        self.max_tokens, self.count = max_tokens, count
        self._pieces: list[str] = []
        self._tokens = 0
        self.stats = {"records": 0, "tokens": 0, "wordsDropped": 0}

    def add(self, text: str) -> Iterator[str]:
        """Records completed by adding one document (the rest stays pending until `flush`)."""
        text = text.strip()
        if not text:
            return
        for piece in units(text + PARAGRAPH):
            n = self.count(piece)
            if n > self.max_tokens:
                yield from self._long(piece)
                continue
            if self._tokens + n > self.max_tokens:
                yield from self._emit()
            self._pieces.append(piece)
            self._tokens += n

    def _long(self, sentence: str) -> Iterator[str]:
        """A sentence over the limit, word by word (whitespace boundaries)."""
        for word in _WORD.findall(sentence):
            n = self.count(word)
            if self.count(word.strip()) > self.max_tokens:
                self.stats["wordsDropped"] += 1
                continue
            if self._tokens + n > self.max_tokens:
                yield from self._emit()
            self._pieces.append(word)
            self._tokens += n

    def _emit(self) -> Iterator[str]:
        """The pending pieces as one record; a last piece that makes the joined record re-tokenize over the
        limit is carried into the next record."""
        carry: list[str] = []
        while self._pieces:
            record = "".join(self._pieces).strip()
            tokens = self.count(record)
            if tokens <= self.max_tokens or len(self._pieces) == 1:
                break
            carry.insert(0, self._pieces.pop())
        record = "".join(self._pieces).strip()
        if record:
            tokens = self.count(record)
            if tokens <= self.max_tokens:
                self.stats["records"] += 1
                self.stats["tokens"] += tokens
                yield record
            else:  # one piece alone re-tokenizes over the limit: place it word by word
                self._pieces, self._tokens = [], 0
                yield from self._long(record)
                yield from self._emit()
        self._pieces = carry
        self._tokens = sum(self.count(p) for p in carry)

    def flush(self) -> Iterator[str]:
        while self._pieces:
            yield from self._emit()

    def fill_rate(self) -> float:
        """Tokens used over the tokens the records could hold (records × limit)."""
        return self.stats["tokens"] / (self.stats["records"] * self.max_tokens) if self.stats["records"] else 0.0
