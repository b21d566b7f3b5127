"""`mlplat bedrock evaluate STACK THROUGHPUT`: evaluate a custom model against its base before committing to
Provisioned Throughput for it.

Two automatic model evaluation jobs (Bedrock CreateEvaluationJob), one for the base model (its on-demand id) and
one for the custom model (through a no-commitment Provisioned Throughput: an evaluation job invokes a custom model
only by its provisioned-model ARN, botocore `EvaluationBedrockModelIdentifier`), with the same task, prompt dataset
(a built-in one, or your JSONL in S3) and metrics; `--wait` polls them and prints the scores side by side, read from
the JSONL results Bedrock writes under `<output>/<job name>/<job uuid>/models/<model>/taskTypes/<task>/datasets/
<dataset>/<uuid>_output.jsonl`, one `automatedEvaluationResult.scores` per prompt (Bedrock user guide, "Understand
how the results of your model evaluation job are saved in Amazon S3"). Record the job ARNs under the throughput's
`evaluationJobs`: a committed throughput without them is a plan warning.

What it is for, on today's calendar: text custom models served through a stack's `provisionedThroughput[]` by
`modelArn` (for example a Nova Micro/Lite/Pro model fine-tuned in the Bedrock console). The platform's own Bedrock
customization no longer produces one: its image bases are past their end of life and no current Bedrock model takes
continued pre-training (components/catalog/lifecycle.py), and automatic evaluation jobs score text only, so image
models are refused here with that reason.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplat.project import InputError

TASKS = ("QuestionAndAnswer", "Summarization", "Classification", "Generation")
#: A built-in prompt dataset per task type (Bedrock user guide, "Model evaluation task types": BoolQ for question
#: and answer, Gigaword for summarization, Women's E-Commerce Clothing Reviews for classification, BOLD for
#: general text generation).
DEFAULT_DATASETS = {"QuestionAndAnswer": "Builtin.BoolQ", "Summarization": "Builtin.Gigaword",
                    "Classification": "Builtin.WomensEcommerceClothingReviews", "Generation": "Builtin.Bold"}
DEFAULT_METRICS = ("Builtin.Accuracy", "Builtin.Robustness", "Builtin.Toxicity")
PROVISIONED_ARN = re.compile(r"^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:provisioned-model/[a-z0-9]{12}$")
ROLE_ARN = re.compile(r"^arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+$")
#: The API's S3 URI form for datasets and results (botocore bedrock model, shape S3Uri): no spaces or other
#: characters outside it, which the service refuses.
API_S3_URI = re.compile(r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?")


def add_parser(bsub: argparse._SubParsersAction) -> None:
    ev = bsub.add_parser("evaluate", help="evaluate a custom model against its base before committing to throughput "
                                          "(needs AWS credentials)")
    ev.add_argument("stack", help="the stack whose bedrock.provisionedThroughput[] entry to evaluate")
    ev.add_argument("--config-file", type=Path, metavar="PATH", help="stack config file to use instead")
    ev.add_argument("throughput", help="the entry's name")
    ev.add_argument("--provisioned-model-arn", required=True, metavar="ARN",
                    help="a no-commitment Provisioned Throughput of the custom model (evaluation jobs invoke custom "
                         "models only through one)")
    ev.add_argument("--role-arn", required=True, metavar="ARN",
                    help="the evaluation service role (Bedrock guide: service role for model evaluation jobs)")
    ev.add_argument("--output", required=True, metavar="S3_URI", help="where Bedrock writes results (s3://bucket/"
                                                                      "prefix/)")
    ev.add_argument("--base-model-id", metavar="ID",
                    help="the base model's on-demand id (default: the custom model's base without its context-length "
                         "suffix, e.g. amazon.nova-micro-v1:0:128k -> amazon.nova-micro-v1:0)")
    ev.add_argument("--task", choices=TASKS, default="QuestionAndAnswer", help="task type (default: %(default)s)")
    ev.add_argument("--dataset", metavar="NAME_OR_S3_URI",
                    help="Builtin.<name>, or your prompt dataset (s3://.../prompts.jsonl) (default: the task's "
                         "built-in dataset)")
    ev.add_argument("--metrics", default=",".join(DEFAULT_METRICS),
                    help="comma-separated metric names (default: %(default)s)")
    ev.add_argument("--kms-key-id", metavar="KEY", help="customer-managed key for the job's data")
    ev.add_argument("--wait", action="store_true", help="wait for both jobs and print the scores side by side")
    ev.add_argument("--poll-seconds", type=int, default=60, help="seconds between status checks (default: 60)")


def dataset_config(value: str) -> dict[str, Any]:
    if value.startswith("s3://"):
        if not API_S3_URI.fullmatch(value) or not value.endswith(".jsonl"):
            raise InputError(f"--dataset: expected Builtin.<name> or s3://bucket/key.jsonl; found {value!r}")
        name = re.sub(r"[^0-9a-zA-Z-_.]", "-", value.rsplit("/", 1)[1].removesuffix(".jsonl"))[:63]
        return {"name": name, "datasetLocation": {"s3Uri": value}}
    if not re.fullmatch(r"Builtin\.[0-9A-Za-z-_.]{1,55}", value):
        raise InputError(f"--dataset: expected Builtin.<name> or s3://bucket/key.jsonl; found {value!r}")
    return {"name": value}


def job_name(throughput: str, which: str, now: dt.datetime) -> str:
    """`<throughput>-<base|custom>-<UTC stamp>`, within the API's `[a-z0-9](-*[a-z0-9]){0,62}`."""
    stem = re.sub(r"[^a-z0-9-]", "-", throughput.lower()).strip("-")[:36]
    return f"{stem}-{which}-{now:%Y%m%d-%H%M%S}"


@dataclass(frozen=True)
class Evaluation:
    """What both jobs share: the task, prompt dataset, metrics, where results go, and the service role."""

    task: str
    dataset: dict[str, Any]
    metrics: list[str]
    output: str
    role_arn: str
    kms_key_id: str | None = None

    def request(self, name: str, model: str) -> dict[str, Any]:
        """CreateEvaluationJob parameters of an automatic evaluation of `model`."""
        request: dict[str, Any] = {
            "jobName": name, "roleArn": self.role_arn, "applicationType": "ModelEvaluation",
            "evaluationConfig": {"automated": {"datasetMetricConfigs": [
                {"taskType": self.task, "dataset": self.dataset, "metricNames": self.metrics}]}},
            "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": model}}]},
            "outputDataConfig": {"s3Uri": self.output},
        }
        if self.kms_key_id:
            request["customerEncryptionKeyId"] = self.kms_key_id
        return request


def wait(bedrock: Any, arns: list[str], *, poll_seconds: int, sleep: Callable[[float], None] = time.sleep,
         say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)) -> dict[str, dict]:
    """Each job's GetEvaluationJob answer once none is in progress."""
    done: dict[str, dict] = {}
    while True:
        for arn in arns:
            if arn not in done:
                job = bedrock.get_evaluation_job(jobIdentifier=arn)
                if job["status"] not in ("InProgress", "Stopping", "Deleting"):
                    done[arn] = job
        pending = [a for a in arns if a not in done]
        if not pending:
            return done
        say(f"{len(pending)} evaluation job(s) in progress; next check in {poll_seconds} s")
        sleep(poll_seconds)


def scores(s3: Any, output: str, name: str) -> dict[str, float]:
    """Mean score per metric over every prompt of one job's results."""
    bucket, _, prefix = output.removeprefix("s3://").partition("/")
    prefix = f"{prefix.rstrip('/')}/{name}/" if prefix.strip("/") else f"{name}/"
    totals: dict[str, list[float]] = {}
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])
            if "/models/" in o["Key"] and o["Key"].endswith("_output.jsonl")]
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
        for line in body.splitlines():
            if not line.strip():
                continue
            for score in json.loads(line).get("automatedEvaluationResult", {}).get("scores", []):
                if isinstance(score.get("result"), int | float):
                    totals.setdefault(score["metricName"], []).append(float(score["result"]))
    return {metric: sum(values) / len(values) for metric, values in totals.items()}


def side_by_side(base: dict[str, float], custom: dict[str, float]) -> list[str]:
    lines = [f"{'metric':<24} {'base':>8} {'custom':>8} {'change':>8}"]
    for metric in sorted(set(base) | set(custom)):
        b, c = base.get(metric), custom.get(metric)
        change = f"{c - b:+8.3f}" if b is not None and c is not None else f"{'':>8}"
        lines.append(f"{metric:<24} {b if b is not None else float('nan'):>8.3f} "
                     f"{c if c is not None else float('nan'):>8.3f} {change}")
    return lines


def cmd(args: argparse.Namespace, *, now: dt.datetime | None = None) -> int:
    from components.catalog.bedrock_models import IMAGE_MODELS, custom_model_base
    from mlplat.project import find_project, load_stack_config
    from stacks.config import parse
    from stacks.errors import ConfigError

    stack_cfg = load_stack_config(find_project(), args.stack, args.config_file)
    try:
        cfg = parse(stack_cfg.values, stack_cfg.secret_keys, stack=args.stack, source=stack_cfg.source)
    except ConfigError as exc:
        raise InputError("invalid configuration: " + "; ".join(exc.problems)) from None
    entries = {t.name: t for t in cfg.bedrock.provisioned_throughput}
    entry = entries.get(args.throughput)
    if entry is None:
        raise InputError(f"stack {args.stack} has no bedrock.provisionedThroughput entry {args.throughput!r} "
                         f"(entries: {', '.join(entries) or 'none'})")
    base = custom_model_base(entry.model_arn or "")
    if not base:
        raise InputError(f"{args.throughput}: evaluate compares a custom model with its base; its modelArn must be a "
                         f"custom-model ARN (a fromCustomization entry: pass its model's ARN in modelArn first)")
    if base in IMAGE_MODELS:
        raise InputError(f"{args.throughput}: {base} generates images, and automatic evaluation jobs judge text (task "
                         f"types {', '.join(TASKS)}): evaluate it with a human evaluation job (Bedrock console) and "
                         "record that job's ARN under evaluationJobs")
    problems = []
    if not PROVISIONED_ARN.match(args.provisioned_model_arn):
        problems.append(f"--provisioned-model-arn: expected arn:aws:bedrock:<region>:<account>:provisioned-model/"
                        f"<12 characters>; found {args.provisioned_model_arn!r}")
    if not ROLE_ARN.match(args.role_arn):
        problems.append(f"--role-arn: expected an IAM role ARN; found {args.role_arn!r}")
    if not API_S3_URI.fullmatch(args.output):
        problems.append(f"--output: expected s3://bucket/prefix/; found {args.output!r}")
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    if not metrics or any(not re.fullmatch(r"[0-9a-zA-Z-_.]{1,63}", m) for m in metrics):
        problems.append(f"--metrics: expected comma-separated metric names such as Builtin.Accuracy; found "
                        f"{args.metrics!r}")
    if problems:
        raise InputError("; ".join(problems))
    evaluation = Evaluation(args.task, dataset_config(args.dataset or DEFAULT_DATASETS[args.task]), metrics,
                            args.output, args.role_arn, args.kms_key_id)
    # The base model as invoked on demand: a custom model's base is its customizable variant, whose context-length
    # suffix (":0:8k", ":0:128k") the on-demand id lacks; --base-model-id when the family names it otherwise.
    base_id = args.base_model_id or re.sub(r":\d+k$", "", base)
    import boto3

    session = boto3.session.Session(region_name=cfg.region)
    bedrock, stamp = session.client("bedrock"), now or dt.datetime.now(dt.UTC)
    jobs = {}
    for which, model in (("base", base_id), ("custom", args.provisioned_model_arn)):
        name = job_name(args.throughput, which, stamp)
        jobs[which] = (name, bedrock.create_evaluation_job(**evaluation.request(name, model))["jobArn"])
        print(f"# {which}: {model}: {jobs[which][1]}")
    print(f"\nrecord them under ml-platform:bedrock.provisionedThroughput[{args.throughput}]:\n"
          f"        evaluationJobs: [{jobs['base'][1]}, {jobs['custom'][1]}]")
    if not args.wait:
        return 0
    finished = wait(bedrock, [arn for _, arn in jobs.values()], poll_seconds=args.poll_seconds)
    failed = [f"{arn}: {job['status']} {'; '.join(job.get('failureMessages') or [])}".strip()
              for arn, job in finished.items() if job["status"] != "Completed"]
    if failed:
        print("evaluation did not complete: " + " | ".join(failed), file=sys.stderr)
        return 1
    s3 = session.client("s3")
    print()
    for line in side_by_side(scores(s3, args.output, jobs["base"][0]), scores(s3, args.output, jobs["custom"][0])):
        print(line)
    return 0
