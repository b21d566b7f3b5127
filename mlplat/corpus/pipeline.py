"""`mlplat corpus curate`: run the curation stages with datatrove's local or Ray executor, then assemble outputs.

Stages (each a datatrove executor run over `tasks` ranks; every later stage reads what the earlier ones wrote
under `<output>/.work`, so ranks never hold more than one document stream in memory):

1. prepare  - read, domain filter, filing sections, filing label lines, MinHash signatures (MinhashDedupSignature)
2. buckets  - MinHash LSH buckets (MinhashDedupBuckets), one task per bucket
3. cluster  - duplicate clusters (MinhashDedupCluster), one task
4. score    - dedup filter and selection metrics (only with --select)
5. emit     - dedup filter, selection mask, tokenize and chunk (bedrock text and token shards)
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("LOGURU_LEVEL", "WARNING")  # datatrove logs every task at INFO on stderr; keep warnings
os.environ.setdefault("TQDM_DISABLE", "1")  # and draws its own bars in the dedup stages; ours is the stage bar

import numpy as np  # noqa: E402
from datatrove.executor.local import LocalPipelineExecutor  # noqa: E402
from datatrove.io import get_datafolder  # noqa: E402
from datatrove.pipeline.dedup.minhash import (  # noqa: E402
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.utils.hashing import HashConfig  # noqa: E402
from datatrove.utils.word_tokenizers import WordTokenizer  # noqa: E402

from mlplat.corpus import selection, tokens  # noqa: E402
from mlplat.corpus.chunking import Chunker  # noqa: E402
from mlplat.corpus.report import Progress, RunRecord, build_stats, stage_counts  # noqa: E402
from mlplat.corpus.steps import (  # noqa: E402
    CorpusReader,
    DomainFilter,
    FilingLineCleaner,
    FilingSections,
    WorkReader,
    WorkWriter,
)
from mlruntime.corpus.config import CurateOptions  # noqa: E402
from mlruntime.embedding import LocalEmbedder, SageMakerEmbedder  # noqa: E402
from mlruntime.sagemaker import Target  # noqa: E402

WORD = re.compile(r"\w+")


class RegexWords(WordTokenizer):
    """MinHash shingles over plain word runs: datatrove's English default needs NLTK's data files."""

    def word_tokenize(self, text: str) -> list[str]:
        return WORD.findall(text)

    def sent_tokenize(self, text: str) -> list[str]:
        return [s for s in text.split("\n") if s.strip()]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in WORD.finditer(text)]


def _cache_loguru_lib_dirs() -> None:
    """datatrove adds a loguru file sink per task, and every `logger.add` asks sysconfig for the library
    directories of every install scheme (loguru `ExceptionFormatter._get_lib_dirs`: 48 `get_path` calls, ~15 ms).
    With one task per MinHash bucket (84 at the default threshold) that was ~1.5 s per run; the directories do
    not change within a process, so they are computed once."""
    import functools

    from loguru import _better_exceptions

    formatter = _better_exceptions.ExceptionFormatter
    if not hasattr(formatter._get_lib_dirs, "cache_info"):
        formatter._get_lib_dirs = staticmethod(functools.lru_cache(maxsize=1)(formatter._get_lib_dirs))


_cache_loguru_lib_dirs()


class QuietLocalExecutor(LocalPipelineExecutor):
    """datatrove prints each task's INFO log on stderr when its local rank is 0 ("only used for logging");
    shifting it keeps stderr for our progress bar and for warnings, and the task logs still go to .work/logs."""

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        return super()._run_for_rank(rank, local_rank + 1, node_rank)


def _executor_factory(opts: CurateOptions, work: str) -> Callable[..., Any]:
    if opts.executor == "ray":
        from mlplat.corpus.ray_executor import ray_executor

        return ray_executor(opts, work)

    def local(pipeline: list, tasks: int, stage: str):
        return QuietLocalExecutor(pipeline, tasks=tasks, workers=min(opts.workers, tasks),
                                  logging_dir=f"{work}/logs/{stage}", skip_completed=False)

    return local


def expand_inputs(inputs: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Files to read (sorted; folders give their .jsonl / .jsonl.gz files) and problems with the arguments."""
    files: list[str] = []
    problems: list[str] = []
    for item in inputs:
        if "://" in item:
            folder = get_datafolder(item)
            found = [folder.resolve_paths(f) for f in folder.list_files(recursive=True)
                     if f.endswith((".jsonl", ".jsonl.gz"))]
            files += found or ([] if not folder.isfile("") else [item])
        elif os.path.isdir(item):
            for root, _, names in os.walk(item):
                files += [os.path.join(root, n) for n in names if n.endswith((".jsonl", ".jsonl.gz"))]
        elif os.path.exists(item):
            files.append(item)
        else:
            problems.append(f"--input: no file or folder at {item}")
            continue
    if not files and not problems:
        problems.append(f"--input: expected .jsonl or .jsonl.gz files, found none in {', '.join(inputs)}")
    return sorted(dict.fromkeys(files)), problems


def endpoint_target(option: str) -> Target:
    """`sagemaker:ENDPOINT` or `sagemaker:ENDPOINT/COMPONENT` (an endpoint serving inference components)."""
    endpoint, _, component = option.split(":", 1)[1].partition("/")
    return Target(endpoint, component or None)


def _clients(opts: CurateOptions) -> Callable[[], Any]:
    from mlplat.corpus import remote

    return remote.factory(opts.region)


def minhash_config(domain: Any) -> MinhashConfig:
    """The MinHash settings of the dedup (word 5-grams, 64-bit xxhash, the bands `DomainConfig.lsh_bands` chose);
    bench/near_duplicates.py measures the same."""
    buckets, rows = domain.lsh_bands()
    return MinhashConfig(n_grams=5, num_buckets=buckets, hashes_per_bucket=rows,
                         hash_config=HashConfig(precision=64, hash_fc="xxhash"))


def curate(opts: CurateOptions, files: list[str], *, progress: Progress | None = None) -> dict[str, Any]:
    """Runs the pipeline; returns the stats document also written to `<output>/stats.json`."""
    started = time.perf_counter()
    output = opts.output.rstrip("/")
    work = f"{output}/.work"
    out_folder = get_datafolder(output)
    if out_folder.exists(".work"):
        out_folder.rm(".work", recursive=True)
    for stale in ("bedrock", "tokens"):
        if out_folder.exists(stale):
            out_folder.rm(stale, recursive=True)
    progress = progress or Progress(enabled=False)
    tasks = max(1, min(len(files), opts.workers * 4))
    minhash = minhash_config(opts.domain)
    buckets, rows = minhash.num_buckets, minhash.hashes_per_bucket
    make = _executor_factory(opts, work)
    dedup = f"{work}/minhash"
    metrics = opts.metrics()
    stages: list[tuple[str, list, int]] = [
        ("prepare", [CorpusReader(files, work), DomainFilter(opts.domain), FilingSections(),
                     FilingLineCleaner(opts.domain.filing_min_words), WorkWriter(work),
                     MinhashDedupSignature(f"{dedup}/signatures", config=minhash, language=RegexWords())], tasks),
        ("buckets", [MinhashDedupBuckets(f"{dedup}/signatures", f"{dedup}/buckets", config=minhash)], buckets),
        ("cluster", [MinhashDedupCluster(f"{dedup}/buckets", f"{dedup}/remove", config=minhash)], 1),
    ]
    if metrics:
        embedder = None
        if "similarity" in metrics:
            embedder = LocalEmbedder() if opts.embedder == "local" else SageMakerEmbedder(
                endpoint_target(opts.embedder), _clients(opts))
        centroid = selection.task_centroid(opts.task_data, embedder) if embedder else None
        scorer = selection.TgiScorer(endpoint_target(opts.scorer), _clients(opts)) if "perplexity" in metrics \
            else None
        stages.append(("score", [WorkReader(work), MinhashDedupFilter(f"{dedup}/remove"),
                                 selection.Scorer(work, metrics, opts.tokenizer, embedder, centroid, scorer)], tasks))
    emit = [WorkReader(work), MinhashDedupFilter(f"{dedup}/remove")]
    if metrics:
        emit.append(selection.SelectionFilter(work))
    emit.append(Chunker(work, output, opts.tokenizer, opts.max_tokens, opts.eos_token))
    stages.append(("emit", emit, tasks))

    run = RunRecord(files, work, tasks, (buckets, rows))
    seconds, counts = run.seconds, run.counts
    progress.start(len(stages))
    for stage, pipeline, stage_tasks in stages:
        if stage == "emit" and metrics:
            t0 = time.perf_counter()
            _write_masks(work, tasks, metrics, opts.keep_fraction)
            seconds["select"] = time.perf_counter() - t0
        progress.stage(stage)
        t0 = time.perf_counter()
        make(pipeline, stage_tasks, stage).run()
        seconds[stage] = time.perf_counter() - t0
        counts[stage] = stage_counts(work, stage)
        progress.done(stage, seconds[stage], counts[stage])
    t0 = time.perf_counter()
    run.shards = _assemble(work, output, tasks, opts)
    seconds["assemble"] = time.perf_counter() - t0
    stats = build_stats(opts, run, time.perf_counter() - started)
    with out_folder.open("stats.json", "wt") as handle:
        json.dump(stats, handle, indent=2)
    if not opts.keep_work:
        out_folder.rm(".work", recursive=True)
    progress.finish()
    return stats


def _write_masks(work: str, tasks: int, metrics: tuple[str, ...], keep_fraction: float) -> None:
    folder = get_datafolder(work)
    per_rank: list[dict[str, np.ndarray]] = []
    for rank in range(tasks):
        name = f"scores/{rank:05d}.npz"
        if folder.exists(name):
            with folder.open(name, "rb") as handle:
                data = np.load(handle)
                per_rank.append({m: data[m] for m in metrics})
        else:
            per_rank.append({m: np.zeros(0) for m in metrics})
    for rank, mask in enumerate(selection.keep_masks(per_rank, metrics, keep_fraction)):
        with folder.open(f"select/{rank:05d}.npy", "wb") as handle:
            np.save(handle, mask)


def _assemble(work: str, output: str, tasks: int, opts: CurateOptions) -> list[dict[str, Any]]:
    """One `bedrock/train.jsonl` (Bedrock reads one training file) and `tokens/index.json`."""
    wf, of = get_datafolder(work), get_datafolder(output)
    with of.open("bedrock/train.jsonl", "wt") as train:
        for rank in range(tasks):
            if wf.exists(f"bedrock/{rank:05d}.jsonl"):
                with wf.open(f"bedrock/{rank:05d}.jsonl", "rt") as part:
                    for line in part:
                        train.write(line)
    tokenizer = tokens.load(opts.tokenizer)
    dtype = tokens.dtype_for(tokenizer)
    eos = tokens.eos_id(tokenizer, opts.eos_token)
    shards = []
    for rank in range(tasks):
        if not of.exists(f"tokens/{rank:05d}.idx"):
            continue
        with of.open(f"tokens/{rank:05d}.idx", "rb") as handle:
            ends = np.frombuffer(handle.read(), dtype="<u8")
        shards.append({"data": f"{rank:05d}.bin", "index": f"{rank:05d}.idx", "sequences": int(len(ends)),
                       "tokens": int(ends[-1]) if len(ends) else 0})
    with of.open("tokens/index.json", "wt") as handle:
        json.dump({"format": "ml-platform token shards v1", "dtype": dtype, "byteOrder": "little",
                   "tokenizer": opts.tokenizer if opts.tokenizer == tokens.BYTES else os.path.basename(opts.tokenizer),
                   "vocabSize": tokenizer.get_vocab_size(), "maxTokens": opts.max_tokens,
                   "endOfText": {"token": tokenizer.id_to_token(eos), "id": eos}, "shards": shards},
                  handle, indent=2)
    return shards


def main_progress() -> Progress:
    return Progress(enabled=sys.stderr.isatty())
