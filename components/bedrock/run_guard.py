"""One training run per runId: a change of a customization job's inputs under the same runId is refused.

pulumi-aws `bedrock.CustomModel` updates only its tags: any other change replaces it, create first, with the same
`jobName` and `customModelName`, and Bedrock never reuses a job name, so `pulumi up` fails half-way. The step
count follows the image count, so adding one image to the manifest is enough. A `RunGuard` holds the run's id
and a fingerprint of everything the job trains on; the engine hands it the previous values, and its `diff`
refuses a new fingerprint under an old runId before anything is changed (a `pulumi preview` shows the error).
`scripts/compare_plans.py` applies the same rule to two saved plans offline (exit 2).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

GUARD_TYPE = "pulumi-python:dynamic:Resource"


class RunChanged(Exception):
    """The job's inputs changed while its runId did not."""


def fingerprint(inputs: dict[str, Any]) -> str:
    """A stable digest of what a job trains on (config, step count, the local data's own digests)."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:16]


def refusal(job: str, run_id: str, old: str, new: str) -> str | None:
    if old and new and old != new:
        return (f"runId: {job} run {run_id!r} was started with other inputs (fingerprint {old} -> {new}); a "
                "Bedrock job name cannot be reused: set a new runId for a new training run (or restore the inputs)")
    return None


class RunGuardProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=f"{props['job']}-{props['run_id']}", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if olds.get("run_id") == news.get("run_id"):
            why = refusal(news["job"], news["run_id"], olds.get("fingerprint", ""), news.get("fingerprint", ""))
            if why:
                raise RunChanged(why)
        changed = olds.get("run_id") != news.get("run_id")
        return DiffResult(changes=changed, replaces=["run_id"] if changed else [])

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=news)


class RunGuard(Resource):
    def __init__(self, name: str, *, job: str, run_id: str, inputs: dict[str, Any],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(RunGuardProvider(), name, {"job": job, "run_id": run_id, "fingerprint": fingerprint(inputs),
                                                    "guard": "bedrock-run"}, opts)
