"""The paper's curation steps as datatrove pipeline blocks.

Each block is a `PipelineStep`: it streams documents, counts what it does with `stat_update` (the counts reach
`stats.json`) and holds only picklable settings, so the same objects run in local worker processes and on Ray.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import get_datafolder, open_file
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter

from mlruntime.corpus.config import DomainConfig

# An SEC filing's parts start with "Item 1.", "Item 1A.", "ITEM 7A" ... at the beginning of a line (Form 10-K).
ITEM_HEADING = re.compile(r"^\s*item\s+\d{1,2}[a-c]?\b[.:\s]", re.IGNORECASE | re.MULTILINE)


class CorpusReader(PipelineStep):
    """Reads `{"id", "text", "url"?, "source"?}` lines from `.jsonl` / `.jsonl.gz` files, rank r taking every
    world_size-th file. A file that cannot be read, a line that is not a JSON object, or a record without a text
    string is counted against its file (`bad/<rank>.json` in the work folder) and skipped."""

    name = "📖 Corpus reader"
    type = "📖 - READER"

    def __init__(self, files: list[str], work: str) -> None:
        super().__init__()
        self.files = files
        self.work = work

    def _records(self, path: str, bad: dict[str, Any]) -> Iterator[Document]:
        try:
            with open_file(path, "rt", compression="infer", encoding="utf-8", errors="strict") as handle:
                for number, line in enumerate(handle, start=1):
                    if not line.strip():
                        continue
                    with self.track_time():
                        doc = self._document(line, path, number, bad)
                    if doc is not None:
                        yield doc
        except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
            bad["unreadable"] = f"{type(exc).__name__}: {exc}"
            self.stat_update("files_unreadable")

    def _document(self, line: str, path: str, number: int, bad: dict[str, Any]) -> Document | None:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            bad["notJson"] = bad.get("notJson", 0) + 1
            bad.setdefault("firstLine", number)
            self.stat_update("bad_not_json")
            return None
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            bad["missingText"] = bad.get("missingText", 0) + 1
            bad.setdefault("firstLine", number)
            self.stat_update("bad_missing_text")
            return None
        self.stat_update("read")
        url = record.get("url") if isinstance(record.get("url"), str) else None
        source = record.get("source") if isinstance(record.get("source"), str) else None
        return Document(text=text, id=str(record.get("id", f"{path}:{number}")),
                        metadata={"url": url, "source": source})

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        report: dict[str, dict[str, Any]] = {}
        try:
            for path in self.files[rank::world_size]:
                bad: dict[str, Any] = {}
                yield from self._records(path, bad)
                if bad:
                    report[path] = bad
        finally:
            with get_datafolder(self.work).open(f"bad/{rank:05d}.json", "wt") as out:
                json.dump(report, out)


def host_matches(host: str, outlets: tuple[str, ...]) -> str | None:
    for outlet in outlets:
        if host == outlet or host.endswith("." + outlet):
            return outlet
    return None


class DomainFilter(BaseFilter):
    """Keeps filings and news whose URL is on a listed outlet or contains a listed keyword."""

    name = "🏦 Financial domain (URL)"

    def __init__(self, domain: DomainConfig) -> None:
        super().__init__()
        self.outlets = domain.outlets
        parts = [r"[-_ ./]?".join(map(re.escape, re.split(r"[-_ ]+", k))) for k in domain.keywords]
        self.keyword = re.compile(r"(?<![a-z0-9])(" + "|".join(parts) + r")(?![a-z0-9])") if parts else None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        if doc.metadata.get("source") == "filing":
            self.stat_update("kept_filing")
            return True
        url = doc.metadata.get("url")
        if not url:
            return False, "no_url"
        parts = urlsplit(url if "//" in url else "//" + url)
        host = (parts.hostname or "").lower()
        if host_matches(host, self.outlets):
            self.stat_update("kept_outlet")
            return True
        if self.keyword and self.keyword.search(url.lower()):
            self.stat_update("kept_keyword")
            return True
        return False, "off_domain"


class FilingSections(PipelineStep):
    """Splits a filing at its "Item N." headings, so deduplication compares sections (boilerplate parts repeat
    across a company's filings); news passes through whole."""

    name = "📑 Filing sections"
    type = "✂️ - SPLITTER"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            if doc.metadata.get("source") != "filing":
                yield doc
                continue
            with self.track_time():
                starts = [m.start() for m in ITEM_HEADING.finditer(doc.text)]
                bounds = [0, *[s for s in starts if s > 0], len(doc.text)]
                pieces = [doc.text[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if doc.text[a:b].strip()]
            self.stat_update("filing_sections", value=len(pieces))
            for n, piece in enumerate(pieces):
                yield Document(text=piece, id=f"{doc.id}#{n}", metadata={**doc.metadata, "filing": doc.id})


class FilingLineCleaner(PipelineStep):
    """Drops the short lines tables and figures leave in a filing (labels, numbers): lines with fewer than
    `min_words` words. An "Item N." heading stays: it names the section."""

    name = "🧹 Filing label lines"
    type = "✂️ - FORMAT"

    def __init__(self, min_words: int) -> None:
        super().__init__()
        self.min_words = min_words

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            if doc.metadata.get("source") != "filing":
                yield doc
                continue
            kept, removed = [], 0
            with self.track_time():
                for line in doc.text.splitlines():
                    if not line.strip():
                        continue
                    if len(line.split()) >= self.min_words or ITEM_HEADING.match(line):
                        kept.append(line.strip())
                    else:
                        removed += 1
            self.stat_update("lines_removed", value=removed)
            if len(kept) > 1 or kept and not ITEM_HEADING.match(kept[0]):
                doc.text = "\n".join(kept)
                yield doc
            else:
                self.stat_update("sections_emptied")


class WorkWriter(PipelineStep):
    """Writes the documents a rank signs to `docs/<rank>.jsonl`: MinHash's last stage removes duplicates by
    their position in exactly this stream, so later stages read it back instead of re-reading the input."""

    name = "💾 Work writer"
    type = "💽 - WRITER"

    def __init__(self, work: str, subfolder: str = "docs") -> None:
        super().__init__()
        self.work = work
        self.subfolder = subfolder

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        # Uncompressed: gzip at its default level 9 cost more time than the MinHash signatures it sits beside.
        with get_datafolder(self.work).open(f"{self.subfolder}/{rank:05d}.jsonl", "wt") as out:
            for doc in data:
                with self.track_time():
                    out.write(json.dumps({"id": doc.id, "text": doc.text, "metadata": doc.metadata}) + "\n")
                self.stat_update("written")
                yield doc


class WorkReader(PipelineStep):
    name = "💾 Work reader"
    type = "📖 - READER"

    def __init__(self, work: str, subfolder: str = "docs") -> None:
        super().__init__()
        self.work = work
        self.subfolder = subfolder

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        folder = get_datafolder(self.work)
        name = f"{self.subfolder}/{rank:05d}.jsonl"
        if not folder.exists(name):
            return
        with folder.open(name, "rt") as handle:
            for line in handle:
                with self.track_time():
                    record = json.loads(line)
                yield Document(text=record["text"], id=record["id"], metadata=record["metadata"])
