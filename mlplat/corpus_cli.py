"""`mlplat corpus curate`: the argument parser and the command (curation itself lives in `mlplat.corpus`,
imported only when the command runs, so `mlplat plan` never needs the `corpus` extra)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlplat.project import InputError

INSTALL_HINT = "corpus curation needs the optional extra: pip install '.[corpus]' (and '.[ray]' for --executor ray)"


def add_parser(sub: argparse._SubParsersAction) -> None:
    corpus = sub.add_parser("corpus", help="corpus curation for continual pre-training (needs the corpus extra)")
    csub = corpus.add_subparsers(dest="corpus_command", required=True)
    c = csub.add_parser("curate", help="domain filter, dedup, selection and chunking of a JSONL corpus")
    c.add_argument("--input", action="append", required=True, metavar="PATH",
                   help=".jsonl / .jsonl.gz file or folder (repeatable; s3:// with the ray extra)")
    c.add_argument("--output", required=True, metavar="DIR",
                   help="where the curated corpus goes: Bedrock records, token shards and the stats (local or s3://)")
    c.add_argument("--domain-config", required=True, type=Path, metavar="FILE",
                   help="the domain: outlets, keywords, filing minimum words, near-duplicate threshold (YAML)")
    c.add_argument("--max-tokens", type=int, metavar="N",
                   help="tokens per chunk (default: the --bedrock-model limit, else 4096)")
    c.add_argument("--bedrock-model", metavar="ID",
                   help="refuse a --max-tokens above this Bedrock base model's continued pre-training limit")
    c.add_argument("--tokenizer", default="bytes", metavar="tokenizer.json",
                   help="the target model's Hugging Face tokenizer.json (default: built-in byte tokenizer)")
    c.add_argument("--eos-token", metavar="TOKEN",
                   help="the tokenizer's end-of-text token, put between documents in the token shards (default: the "
                        "first of <|endoftext|>, </s>, <|end_of_text|>, <eos> the tokenizer has)")
    c.add_argument("--select", default="none", choices=("none", "entropy", "similarity", "perplexity", "combined"),
                   help="data selection after dedup: keep the most informative documents (default: %(default)s)")
    c.add_argument("--keep-fraction", type=float, default=0.1, metavar="F",
                   help="with --select: the fraction of documents kept (default: %(default)s)")
    c.add_argument("--task-data", metavar="FILE", help="JSONL of {\"text\": ...} task examples (similarity)")
    c.add_argument("--embedder", default="local", metavar="local|sagemaker:ENDPOINT",
                   help="embeddings for similarity selection: the local embedder or a deployed endpoint "
                        "(default: %(default)s)")
    c.add_argument("--scorer", metavar="sagemaker:ENDPOINT", help="TGI endpoint for perplexity")
    c.add_argument("--region", help="AWS region of the endpoints (default: the AWS configuration's)")
    c.add_argument("--executor", default="local", choices=("local", "ray"),
                   help="local processes, or a Ray cluster (the ray extra) (default: %(default)s)")
    c.add_argument("--workers", type=int, default=1, metavar="N",
                   help="parallel tasks (default: %(default)s)")
    c.add_argument("--keep-work", action="store_true", help="keep the intermediate files in DIR/.work")


def bedrock_limit(model_id: str | None) -> tuple[str, int] | None:
    from components.catalog.bedrock_models import BASE_MODELS

    if model_id is None:
        return None
    model = BASE_MODELS.get(model_id)
    if model is None or model.pretraining is None:
        choices = [m for m, v in BASE_MODELS.items() if v.pretraining]
        raise InputError(f"--bedrock-model: expected a base model with continued pre-training "
                         f"({', '.join(choices)}), found {model_id!r}")
    from components.catalog import lifecycle
    from components.catalog.bedrock_models import today

    why = lifecycle.problem(model.model_id, "pretrain", today())
    if why and why[0] == "error":
        raise InputError(f"--bedrock-model: {why[1]}. Curate for the GPU cluster instead: --tokenizer with the "
                         "model's tokenizer.json, then a continued-pretraining training job")
    return model.model_id, model.pretraining.max_record_tokens()


def cmd(args: argparse.Namespace) -> int:
    limit = bedrock_limit(args.bedrock_model)
    try:
        from mlplat.corpus.pipeline import curate, expand_inputs, main_progress
        from mlruntime.corpus.config import CurateOptions, check_options, load_domain_config
    except ImportError as exc:
        raise InputError(f"{INSTALL_HINT} ({exc})") from None
    domain = load_domain_config(args.domain_config)
    opts = CurateOptions(
        inputs=tuple(args.input), output=args.output, domain=domain,
        max_tokens=args.max_tokens or (limit[1] if limit else 4096), tokenizer=args.tokenizer,
        eos_token=args.eos_token, select=args.select,
        keep_fraction=args.keep_fraction, task_data=args.task_data, embedder=args.embedder, scorer=args.scorer,
        executor=args.executor, workers=args.workers, region=args.region, keep_work=args.keep_work)
    check_options(opts, limit)
    files, problems = expand_inputs(opts.inputs)
    if problems:
        raise InputError("\n  ".join(problems))
    from mlplat.corpus import tokens

    try:
        tokens.eos_id(tokens.load(opts.tokenizer), opts.eos_token)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if opts.task_data and not Path(opts.task_data).is_file():
        raise InputError(f"--task-data: no file at {opts.task_data}")
    try:
        stats = curate(opts, files, progress=main_progress())
    except ValueError as exc:  # task data or endpoint answers that do not have the expected shape
        raise InputError(str(exc)) from None
    counts = stats["counts"]
    for path, bad in stats["inputs"]["badInput"].items():
        what = bad.get("unreadable") or ", ".join(f"{bad[k]} {k}" for k in ("notJson", "missingText") if k in bad)
        print(f"warning: {path}: {what} (skipped)", file=sys.stderr)
    print(f"read {counts['read']:,} documents from {len(files)} file(s); kept {counts['keptByDomain']:,} in the "
          f"domain; removed {counts['linesRemoved']:,} filing label lines and {counts['duplicatesRemoved']:,} "
          f"duplicates; selected {counts['selected']:,}; wrote {counts['records']:,} Bedrock records of whole "
          f"sentences ({counts['recordFill']:.0%} full) to {opts.output.rstrip('/')}/bedrock/train.jsonl and "
          f"{counts['chunks']:,} packed sequences ({counts['tokens']:,} tokens) to tokens/ "
          f"in {stats['seconds']['total']:.1f} s")
    return 0
