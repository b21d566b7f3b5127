"""Bedrock customization: regions and the calendar of each base model, record limits and local files, names that
would collide, and what a Provisioned Throughput buys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stacks.checks.base import Problems, one_of

if TYPE_CHECKING:
    from stacks.model import PlatformConfig


def bedrock_checks(cfg: PlatformConfig) -> Problems:
    from pathlib import Path

    from components.bedrock.data import validate_manifest
    from components.catalog import bedrock_models, lifecycle

    problems: Problems = []
    bedrock = cfg.bedrock
    names = [f.name for f in bedrock.fine_tuning]
    base_of = {f.name: bedrock_models.BASE_MODELS[f.base_model] for f in bedrock.fine_tuning}
    today = bedrock_models.today()
    for i, ft in enumerate(bedrock.fine_tuning):
        loc = ("bedrock", "fineTuning", i)
        model = base_of[ft.name]
        if cfg.region not in model.regions:
            problems.append((loc, f"{model.model_id} fine-tuning is offered in {', '.join(model.regions)}; "
                                  f"found {cfg.region!r}"))
        if (why := lifecycle.problem(model.model_id, "fine-tune", today)) and why[0] == "error":
            problems.append(((*loc, "baseModel"), f"expected a base model Bedrock still fine-tunes: {why[1]}; found "
                                                  f"{model.model_id!r}"))
        if ft.local_manifest is not None:
            path = Path(ft.local_manifest)
            if not path.is_file():
                problems.append(((*loc, "localManifest"), f"expected a manifest file; {path} does not exist"))
                continue
            report = validate_manifest(path, local_images=True)
            problems += [((*loc, "localManifest"), line) for line in report.lines()]
    problems += _pretraining(cfg, today)
    base_of.update({c.name: bedrock_models.BASE_MODELS[c.base_model] for c in bedrock.continued_pretraining})
    names += [c.name for c in bedrock.continued_pretraining]
    both = sorted({f.name for f in bedrock.fine_tuning} & {c.name for c in bedrock.continued_pretraining})
    for name in both:
        i = [c.name for c in bedrock.continued_pretraining].index(name)
        problems.append((("bedrock", "continuedPretraining", i, "name"),
                         f"expected a name no bedrock.fineTuning[] entry uses (both would create the bucket and "
                         f"custom model {name}-...); found {name!r}"))
    for i, pt in enumerate(bedrock.provisioned_throughput):
        loc = ("bedrock", "provisionedThroughput", i, pt.source_key)
        if pt.source is None:
            arn = pt.model_arn or ""
            base_id = bedrock_models.base_model_of(arn)
            why = lifecycle.problem(base_id, "throughput", today) if base_id in lifecycle.MODELS else None
            if why and why[0] == "error":
                problems.append((("bedrock", "provisionedThroughput", i, "modelArn"),
                                 f"expected a model Bedrock still sells Provisioned Throughput for: {why[1]}; "
                                 f"found {arn!r}"))
            continue
        if pt.source not in names:
            problems += one_of(loc, "bedrock.fineTuning[].name or bedrock.continuedPretraining[].name", names,
                               pt.source)
        elif (why := lifecycle.problem(base_of[pt.source].model_id, "throughput", today)) and why[0] == "error":
            problems.append((loc, f"expected a model Bedrock still sells Provisioned Throughput for: {pt.source!r} "
                                  f"customizes {why[1]}"))
    return problems


def _pretraining(cfg: PlatformConfig, today: Any) -> Problems:
    """Region, lifecycle, batch size against the model's record limits, and a local corpus's records."""
    from components.bedrock.pretraining import corpus_file
    from components.catalog import bedrock_models, lifecycle

    problems: Problems = []
    for i, cpt in enumerate(cfg.bedrock.continued_pretraining):
        loc = ("bedrock", "continuedPretraining", i)
        model = bedrock_models.BASE_MODELS[cpt.base_model]
        limits = model.pretraining
        assert limits is not None
        if cfg.region not in model.regions:
            problems.append(((*loc, "baseModel"), f"{model.model_id} continued pre-training is offered in "
                                                  f"{', '.join(model.regions)}; found region {cfg.region!r}"))
        if (why := lifecycle.problem(model.model_id, "pretrain", today)) and why[0] == "error":
            problems.append(((*loc, "baseModel"), f"expected a base model Bedrock still pre-trains: {why[1]}; found "
                                                  f"{model.model_id!r}"))
        batch = cpt.hyper_parameters.batch_size
        if batch > limits.max_batch_size:
            problems.append(((*loc, "hyperParameters", "batchSize"),
                             f"expected at most {limits.max_batch_size} for {model.model_id} (Bedrock's record "
                             f"limits stop there); found {batch}"))
        elif cpt.local_corpus is not None:
            problems += [((*loc, "localCorpus"), line) for line in
                         _corpus_problems(corpus_file(cpt.local_corpus), limits.max_record_tokens(batch),
                                          limits.max_training_bytes, f"{model.model_id} at batch size {batch}")]
    return problems


def _corpus_problems(path: Any, max_tokens: int, max_bytes: int, what: str) -> list[str]:
    """The curated file exists, holds `{"input": str}` records, fits the size limit, and was chunked to at most
    the model's tokens per record (the curation's stats.json says how it was chunked)."""
    import json

    if not path.is_file():
        return [f"expected {path} (the output of `mlplat corpus curate`); it does not exist"]
    size = path.stat().st_size
    if size > max_bytes:
        return [f"expected a training file of at most {max_bytes / 1024**3:.0f} GB; {path} is "
                f"{size / 1024**3:.1f} GB"]
    problems: list[str] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if not (isinstance(record, dict) and list(record) == ["input"] and isinstance(record["input"], str)):
                problems.append(f'{path}:{number}: expected exactly {{"input": "<text>"}}, found {line[:60]!r}')
                break
        else:
            if size == 0:
                problems.append(f"expected at least one record; {path} is empty")
    stats_path = path.parent.parent / "stats.json"
    try:
        chunked = json.loads(stats_path.read_text())["options"]["maxTokens"]
    except (OSError, ValueError, KeyError, TypeError):
        problems.append(f"expected {stats_path} from `mlplat corpus curate` (it records the chunk size); found none")
    else:
        if chunked > max_tokens:
            problems.append(f"{what} takes at most {max_tokens:,} tokens per record; the corpus was chunked to "
                            f"{chunked:,} (curate again with --max-tokens {max_tokens})")
    return problems
