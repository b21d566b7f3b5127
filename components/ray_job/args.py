"""`ml-platform:rayJobs[]`: `mlplat corpus curate --executor ray` as a RayJob on the cluster."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.base import S3_OBJECT, S3_PREFIX, StrictModel, problem
from components.catalog.versions import RAY_VERSION
from components.training_job.args import IMAGE_RE

#: KubeRay ray-operator/controllers/ray/utils/constant.go `MaxRayJobNameLength` (ValidateRayJobMetadata).
RAYJOB_NAME_MAX = 47
QUANTITY = r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti)?$"  # memory: bytes or a binary suffix


class CurationRayJobArgs(StrictModel):
    name: str = Field(pattern=r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$", description="Job name (a DNS-1035 label).")
    run_id: str = Field(max_length=16, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
                        description="One run: the RayJob is `<name>-<runId>` and writes under `<outputUri><name>-"
                                    "<runId>/`.")
    image: str = Field(description="Image with ml-platform[ray] and s3fs on rayproject/ray of rayVersion "
                                   "(examples/corpus/ray-image/Dockerfile); pin a tag or digest.")
    ray_version: str = Field(default=RAY_VERSION, pattern=r"^\d+\.\d+\.\d+$",
                             description="Ray version of the image (the RayJob's rayVersion).")
    input_uri: str = Field(description="S3 prefix of the .jsonl / .jsonl.gz corpus.")
    output_uri: str = Field(description="S3 prefix the curated corpus is written under.")
    domain_config: str = Field(description="Local domain config (YAML), checked at plan time and mounted from a "
                                           "ConfigMap.")
    tokenizer_uri: str | None = Field(default=None, description="S3 object of the target model's tokenizer.json "
                                                                "(default: the built-in byte tokenizer).")
    max_tokens: int = Field(default=4096, ge=16, le=1_000_000, description="Tokens per chunk.")
    select: Literal["none", "entropy"] = Field(
        default="none", description="Selection on the cluster (similarity and perplexity call endpoints: run "
                                    "those with `mlplat corpus curate` where the endpoints are reachable).")
    keep_fraction: float = Field(default=0.1, gt=0, le=1, description="Fraction kept by the selection.")
    workers: int = Field(default=2, ge=1, le=200, description="Ray worker pods.")
    worker_cpu: int = Field(default=2, ge=1, le=192, description="CPUs per worker pod (Ray tasks per worker).")
    worker_memory: str = Field(default="6Gi", pattern=QUANTITY, description="Memory per worker pod.")
    node_group: str | None = Field(default=None, description="gpuCluster.nodeGroups[].name to run on (tolerated "
                                                              "like training pods); default: the system nodes.")
    active_deadline_seconds: int = Field(default=86_400, ge=60, description="The job fails after this long.")

    @field_validator("input_uri", "output_uri")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not S3_PREFIX.match(value):
            raise ValueError("expected an S3 prefix ending in /, e.g. s3://my-bucket/corpus/")
        return value

    @field_validator("tokenizer_uri")
    @classmethod
    def _object(cls, value: str | None) -> str | None:
        if value is not None and not S3_OBJECT.match(value):
            raise ValueError("expected an S3 object URI, e.g. s3://my-bucket/models/tokenizer.json")
        return value

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not IMAGE_RE.match(value):
            raise ValueError("expected an image reference with a registry and a pinned tag or digest")
        return value

    @property
    def run_name(self) -> str:
        return f"{self.name}-{self.run_id}"

    @model_validator(mode="after")
    def _name_length(self) -> CurationRayJobArgs:
        if len(self.run_name) > RAYJOB_NAME_MAX:
            raise problem("runId", f"expected `<name>-<runId>` of at most {RAYJOB_NAME_MAX} characters (KubeRay's "
                                   f"MaxRayJobNameLength: the operator refuses longer RayJobs); `{self.run_name}` has "
                                   f"{len(self.run_name)}")
        return self
