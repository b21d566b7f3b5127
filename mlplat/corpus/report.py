"""Counts per stage (from datatrove's stats.json files), the run's `stats.json`, and the progress display."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from datatrove.io import get_datafolder

from mlruntime.corpus.config import CurateOptions


def stage_counts(work: str, stage: str) -> dict[str, Any]:
    """{step name: {label: total}} plus {step name: seconds} from datatrove's merged stats for one stage."""
    folder = get_datafolder(f"{work}/logs/{stage}")
    if not folder.exists("stats.json"):
        return {"counts": {}, "seconds": {}}
    with folder.open("stats.json", "rt") as handle:
        steps = json.load(handle)
    counts: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {}
    for step in steps:
        name = re.sub(r"^[^A-Za-z]+", "", step["name"].split(": ", 1)[-1]).strip()  # "DEDUP: 🎯 MinHash stage 1"
        stats = step.get("stats", {})
        counts[name] = {label: v.get("total", v) if isinstance(v, dict) else v for label, v in stats.items()}
        time_stats = step.get("time_stats") or {}
        seconds[name] = float(time_stats.get("total", 0.0)) if isinstance(time_stats, dict) else 0.0
    return {"counts": counts, "seconds": seconds}


def _find(counts: dict[str, dict[str, Any]], stage: str, step_suffix: str, label: str) -> int:
    for name, values in counts.get(stage, {}).get("counts", {}).items():
        if name.endswith(step_suffix):
            return int(values.get(label, 0))
    return 0


def _bad_inputs(work: str, tasks: int) -> dict[str, Any]:
    folder = get_datafolder(work)
    bad: dict[str, Any] = {}
    for rank in range(tasks):
        if folder.exists(f"bad/{rank:05d}.json"):
            with folder.open(f"bad/{rank:05d}.json", "rt") as handle:
                bad.update(json.load(handle))
    return dict(sorted(bad.items()))


@dataclass
class RunRecord:
    """What one curation run did: its inputs, ranks, datatrove counts per stage, wall time per stage, shards."""

    files: list[str]
    work: str
    tasks: int
    bands: tuple[int, int]
    counts: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    shards: list[dict[str, Any]] = field(default_factory=list)


def build_stats(opts: CurateOptions, run: RunRecord, total_seconds: float) -> dict[str, Any]:
    files, counts, seconds, shards, bands = run.files, run.counts, run.seconds, run.shards, run.bands

    def c(stage: str, step: str, label: str) -> int:
        return _find(counts, stage, step, label)

    bad = _bad_inputs(run.work, run.tasks)
    signed = c("prepare", "Work writer", "written")
    kept_after_dedup = c("emit", "MinHash stage 4", "forwarded")
    selected = c("emit", "Data selection", "selected") if opts.metrics() else kept_after_dedup
    step_seconds = {f"{stage}/{name}": round(value, 4) for stage, data in counts.items()
                    for name, value in data.get("seconds", {}).items()}
    return {
        "inputs": {"files": len(files), "tasks": run.tasks, "badInput": bad},
        "counts": {
            "read": c("prepare", "Corpus reader", "read"),
            "badRecords": c("prepare", "Corpus reader", "bad_not_json") + c("prepare", "Corpus reader",
                                                                            "bad_missing_text"),
            "unreadableFiles": sum(1 for v in bad.values() if "unreadable" in v),
            "keptByDomain": c("prepare", "Financial domain (URL)", "forwarded"),
            "keptFiling": c("prepare", "Financial domain (URL)", "kept_filing"),
            "keptOutlet": c("prepare", "Financial domain (URL)", "kept_outlet"),
            "keptKeyword": c("prepare", "Financial domain (URL)", "kept_keyword"),
            "offDomain": c("prepare", "Financial domain (URL)", "dropped_off_domain"),
            "noUrl": c("prepare", "Financial domain (URL)", "dropped_no_url"),
            "filingSections": c("prepare", "Filing sections", "filing_sections"),
            "linesRemoved": c("prepare", "Filing label lines", "lines_removed"),
            "sectionsEmptied": c("prepare", "Filing label lines", "sections_emptied"),
            "documentsSigned": signed,
            "duplicatesRemoved": c("emit", "MinHash stage 4", "dropped"),
            "selected": selected,
            "chunks": c("emit", "Tokenize and chunk", "chunks"),
            "tokens": c("emit", "Tokenize and chunk", "tokens"),
            # Bedrock text records: whole sentences; fill = tokens used / (records × maxTokens).
            "records": c("emit", "Tokenize and chunk", "records"),
            "recordFill": round(c("emit", "Tokenize and chunk", "record_tokens")
                                / max(1, c("emit", "Tokenize and chunk", "records") * opts.max_tokens), 4),
            "wordsDroppedTooLong": c("emit", "Tokenize and chunk", "words_dropped"),
        },
        "seconds": {**{k: round(v, 4) for k, v in seconds.items()}, "total": round(total_seconds, 4)},
        "stepSeconds": step_seconds,
        "options": {"maxTokens": opts.max_tokens, "tokenizer": opts.tokenizer, "select": opts.select,
                    "keepFraction": opts.keep_fraction if opts.metrics() else 1.0, "executor": opts.executor,
                    "workers": opts.workers, "minhash": {"buckets": bands[0], "hashesPerBucket": bands[1],
                                                         "threshold": opts.domain.near_duplicate_threshold,
                                                         **opts.domain.lsh_curve()}},
        "outputs": {"bedrock": "bedrock/train.jsonl", "tokens": "tokens/index.json", "shards": len(shards)},
    }


class Progress:
    """A stage bar on stderr when it is a terminal; nothing otherwise (pipes and CI logs stay clean)."""

    def __init__(self, enabled: bool, stream: Any = None) -> None:
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.total = 0
        self.index = 0

    def _bar(self) -> str:
        width = 20
        filled = width * self.index // max(self.total, 1)
        return "[" + "#" * filled + "-" * (width - filled) + f"] {self.index}/{self.total}"

    def start(self, total: int) -> None:
        self.total, self.index = total, 0

    def stage(self, name: str) -> None:
        if self.enabled:
            self.stream.write(f"\r\033[K{self._bar()} {name} ...")
            self.stream.flush()

    def done(self, name: str, seconds: float, counts: dict[str, Any]) -> None:
        self.index += 1
        if self.enabled:
            self.stream.write(f"\r\033[K{self._bar()} {name} done in {seconds:.1f} s\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.flush()
