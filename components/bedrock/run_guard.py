"""One training run per runId: a change of a customization job's inputs under the same runId is refused.

pulumi-aws `bedrock.CustomModel` updates only its tags: any other change replaces it, create first, with the same
`jobName` and `customModelName`, and Bedrock never reuses a job name, so `pulumi up` fails half-way. The step
count follows the image count, so adding one image to the manifest is enough. A `RunGuard` holds the run's id
and a fingerprint of everything the job trains on; the engine hands it the previous values, and its `diff`
refuses a new fingerprint under an old runId before anything is changed (a `pulumi preview` shows the error).
`scripts/compare_plans.py` applies the same rule to two saved plans offline (exit 2).

The fingerprint covers the config; `forces` holds the job's other inputs that force a replacement
(terraform-provider-aws `internal/service/bedrock/custom_model.go`: RequiresReplace on base_model_identifier,
custom_model_kms_key_id, role_arn, output/training/validation S3 URIs, vpc_config security_group_ids and
subnet_ids, ...), as the values the engine resolves: one more AZ (a new subnet) replaces the job just as a new
image does. The guard is created after its job: a job AWS refused at creation (its name never used) leaves no
guard behind, so correcting it needs no new runId. `pulumi up` previews first, and the guard's refusal fails that
preview before any step runs (`--skip-preview` would run the job's replacement first, and AWS would refuse the
reused name).
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


def refusal(job: str, run_id: str, old: str, new: str, old_forces: dict[str, Any] | None = None,
            new_forces: dict[str, Any] | None = None) -> str | None:
    changed = sorted(k for k in (old_forces or {}).keys() | (new_forces or {}).keys()
                     if old_forces is not None and new_forces is not None
                     and (old_forces or {}).get(k) != (new_forces or {}).get(k))
    if old and new and old != new:
        changed.insert(0, f"fingerprint {old} -> {new}")
    if changed:
        return (f"runId: {job} run {run_id!r} was started with other inputs ({', '.join(changed)}); a Bedrock job "
                "name cannot be reused: set a new runId for a new training run (or restore the inputs)")
    return None


class RunGuardProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=f"{props['job']}-{props['run_id']}", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        if olds.get("run_id") == news.get("run_id"):
            why = refusal(news["job"], news["run_id"], olds.get("fingerprint", ""), news.get("fingerprint", ""),
                          olds.get("forces"), news.get("forces"))
            if why:
                raise RunChanged(why)
        changed = olds.get("run_id") != news.get("run_id")
        return DiffResult(changes=changed, replaces=["run_id"] if changed else [])

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=news)


class RunGuard(Resource):
    def __init__(self, name: str, *, job: str, run_id: str, inputs: dict[str, Any],
                 forces: dict[str, Any] | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        """`inputs`: the config the fingerprint digests; `forces`: the job's resolved inputs that replace it."""
        super().__init__(RunGuardProvider(), name, {"job": job, "run_id": run_id, "fingerprint": fingerprint(inputs),
                                                    "forces": forces or {}, "guard": "bedrock-run"}, opts)
