"""`ml-platform:trainingJobs[]`: a Llama 2 FSDP job in a few lines of config."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from components.base import StrictModel, problem

IMAGE_RE = re.compile(r"^[\w.-]+(:\d+)?(/[\w.-]+)+(:[\w.-]+|@sha256:[0-9a-f]{64})$")


class ElasticPolicy(StrictModel):
    min_replicas: int | None = Field(default=None, ge=1, description="Minimum workers (default: workers).")
    max_replicas: int | None = Field(default=None, ge=1, description="Maximum workers (default: workers).")
    max_restarts: int = Field(default=100, ge=0, le=10000, description="Restarts before the job fails.")


class TrainingJobArgs(StrictModel):
    name: str = Field(
        pattern=r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$",
        description="Job name: a DNS-1035 label (starts with a letter; the PyTorchJob's services need it).",
    )
    run_id: str = Field(
        max_length=16, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Identifies one run: the PyTorchJob is `<name>-<runId>` and so is its etcd rendezvous id. "
                    "torchrun's default id (`none`) is shared by every job, and etcd keeps a closed rendezvous for "
                    "2 hours, so a rerun needs a new runId.",
    )
    node_group: str = Field(description="Name of the GPU node group (gpuCluster.nodeGroups[].name) to run on.")
    workers: int = Field(ge=1, le=1000, description="Number of worker pods (one per node).")
    image: str = Field(
        description="Training image with torchrun, llama-recipes and python-etcd (pin a tag or digest).",
    )
    model_name: str = Field(default="meta-llama/Llama-2-7b-hf", description="Hugging Face model id.")
    command: list[str] | None = Field(default=None, description="Override the reference's torchrun command.")
    num_epochs: int = Field(default=5, ge=1, description="Epochs in the default command.")
    batch_size: int = Field(default=3, ge=1, description="batch_size_training in the default command.")
    hf_token: SecretStr | None = Field(
        default=None, description="Hugging Face token for gated models (set with --secret); mounted from a Secret."
    )
    rendezvous: Literal["etcd", "c10d"] = Field(default="etcd", description="torch elastic rendezvous backend.")
    elastic: ElasticPolicy = Field(default_factory=ElasticPolicy, description="Elastic policy.")
    nccl_debug: Literal["VERSION", "WARN", "INFO", "TRACE"] = Field(default="INFO", description="NCCL_DEBUG.")

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not IMAGE_RE.match(value):
            raise ValueError("expected an image reference with a registry and a pinned tag or digest, "
                             "e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/fsdp:llama2")
        return value

    @property
    def run_name(self) -> str:
        """The PyTorchJob's name and its rendezvous id: one per job and run."""
        return f"{self.name}-{self.run_id}"

    @model_validator(mode="after")
    def _elastic(self) -> TrainingJobArgs:
        lo = self.elastic.min_replicas or self.workers
        hi = self.elastic.max_replicas or self.workers
        if not lo <= self.workers <= hi:
            raise problem("workers", f"expected a value within elastic [minReplicas, maxReplicas] = [{lo}, {hi}]; "
                                     f"found {self.workers}")
        return self
