"""`ml-platform:trainingJobs[]`: an FSDP job on the GPU cluster in a few lines of config.

`objective: fine-tune` (the default) is the Llama 2 fine-tuning reference (llama-recipes in the image).
`objective: continued-pretraining` continues pre-training an open model (Pythia, as in the FinPythia paper) on the
token shards `mlplat corpus curate` wrote, read from S3, with the training script this package ships.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from components.base import S3_PREFIX, StrictModel, problem

DEFAULT_MODELS = {"fine-tune": "meta-llama/Llama-2-7b-hf", "continued-pretraining": "EleutherAI/pythia-1b"}
#: A Service name is a DNS-1035 label: at most 63 characters (Kubernetes API conventions).
SERVICE_NAME_MAX = 63
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
        description="Training image with torchrun and python-etcd, plus llama-recipes (fine-tune) or transformers "
                    "and boto3 (continued-pretraining); pin a tag or digest.",
    )
    objective: Literal["fine-tune", "continued-pretraining"] = Field(
        default="fine-tune", description="Fine-tune (llama-recipes) or continue pre-training on token shards.")
    model_name: str | None = Field(
        default=None, description="Hugging Face model id (default: meta-llama/Llama-2-7b-hf to fine-tune, "
                                  "EleutherAI/pythia-1b to continue pre-training).")
    token_shards_uri: str | None = Field(
        default=None, description="continued-pretraining: the S3 prefix holding a curated tokens/ folder "
                                  "(index.json, *.bin, *.idx), curated with the model's tokenizer.json.")
    output_uri: str | None = Field(
        default=None, description="continued-pretraining: S3 prefix the trained model is written to.")
    learning_rate: float = Field(default=2e-5, gt=0, le=1, description="continued-pretraining: peak learning rate.")
    command: list[str] | None = Field(default=None, description="Override the reference's torchrun command.")
    num_epochs: int = Field(default=5, ge=1, description="Epochs in the default command.")
    batch_size: int = Field(default=3, ge=1, description="batch_size_training in the default command.")
    hf_token: SecretStr | None = Field(
        default=None, description="Hugging Face token for gated models (set with --secret); mounted from a Secret."
    )
    rendezvous: Literal["etcd", "c10d"] = Field(default="etcd", description="torch elastic rendezvous backend.")
    elastic: ElasticPolicy = Field(default_factory=ElasticPolicy, description="Elastic policy.")
    backoff_limit: int = Field(
        default=3, ge=0, le=100,
        description="runPolicy.backoffLimit: restarts of failed pods before the job fails and frees its GPUs. "
                    "training-operator never fails a job whose backoffLimit is unset (a deterministic crash "
                    "restarts without end).")
    active_deadline_seconds: int = Field(
        default=3 * 24 * 3600, ge=600,
        description="runPolicy.activeDeadlineSeconds: the longest the job may run (default 3 days) before the "
                    "operator stops it; set it to the run's expected length plus a margin.")
    nccl_debug: Literal["VERSION", "WARN", "INFO", "TRACE"] = Field(default="INFO", description="NCCL_DEBUG.")

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        if not IMAGE_RE.match(value):
            raise ValueError("expected an image reference with a registry and a pinned tag or digest, "
                             "e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/fsdp:llama2")
        return value

    @field_validator("token_shards_uri", "output_uri")
    @classmethod
    def _prefix(cls, value: str | None) -> str | None:
        if value is not None and not S3_PREFIX.match(value):
            raise ValueError("expected an S3 prefix ending in /, e.g. s3://my-bucket/corpus/tokens/")
        return value

    @property
    def model(self) -> str:
        return self.model_name or DEFAULT_MODELS[self.objective]

    @property
    def run_name(self) -> str:
        """The PyTorchJob's name and its rendezvous id: one per job and run."""
        return f"{self.name}-{self.run_id}"

    @model_validator(mode="after")
    def _objective(self) -> TrainingJobArgs:
        if self.objective == "continued-pretraining":
            for key, value in (("tokenShardsUri", self.token_shards_uri), ("outputUri", self.output_uri)):
                if value is None:
                    raise problem(key, "expected an S3 prefix for objective continued-pretraining; found none")
        elif self.token_shards_uri is not None:
            raise problem("tokenShardsUri", "expected no token shards for objective fine-tune (llama-recipes reads "
                                            "its own dataset); found one: set objective: continued-pretraining")
        return self

    @model_validator(mode="after")
    def _elastic(self) -> TrainingJobArgs:
        lo = self.elastic.min_replicas or self.workers
        hi = self.elastic.max_replicas or self.workers
        if not lo <= self.workers <= hi:
            raise problem("workers", f"expected a value within elastic [minReplicas, maxReplicas] = [{lo}, {hi}]; "
                                     f"found {self.workers}")
        return self

    @property
    def longest_service_name(self) -> str:
        """The training operator names each worker's Service `<job>-worker-<index>` (training-operator v1.7.0,
        `common.GenGeneralName`); with elastic scaling the index reaches maxReplicas - 1."""
        return f"{self.run_name}-worker-{(self.elastic.max_replicas or self.workers) - 1}"

    @model_validator(mode="after")
    def _service_names(self) -> TrainingJobArgs:
        longest = self.longest_service_name
        if len(longest) > SERVICE_NAME_MAX:
            raise problem("runId", f"expected name and runId short enough for the job's Services: `{longest}` has "
                                   f"{len(longest)} characters, Kubernetes allows {SERVICE_NAME_MAX} (a DNS-1035 "
                                   f"label); shorten name or runId by {len(longest) - SERVICE_NAME_MAX}")
        return self
