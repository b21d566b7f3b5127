"""`ml-platform:bedrock`: Titan Image Generator fine-tuning, Titan Text continued pre-training, Provisioned
Throughput, invocation logging."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from components.base import LogRetentionDays, StrictModel, UniqueByName, one_of, problem
from components.bedrock.data import BATCH_SIZE_RANGE, LEARNING_RATE_RANGE, STEP_COUNT_RANGE
from components.catalog.bedrock_models import (
    DEFAULT_IMAGE_MODEL,
    DEFAULT_PRETRAINING_MODEL,
    IMAGE_MODELS,
    PRETRAINING_MODELS,
)

S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$")
NAME = r"^[a-z0-9](-?[a-z0-9])*$"


def _s3_uri(value: str | None) -> str | None:
    if value is not None and not S3_URI.match(value):
        raise ValueError("expected an s3://bucket/key URI")
    return value


S3Uri = Annotated[str | None, AfterValidator(_s3_uri)]


class Hyperparameters(StrictModel):
    step_count: int | None = Field(
        default=None, ge=STEP_COUNT_RANGE[0], le=STEP_COUNT_RANGE[1],
        description="Training steps (default: recommended from the image count).",
    )
    batch_size: int = Field(default=8, ge=BATCH_SIZE_RANGE[0], le=BATCH_SIZE_RANGE[1], description="Batch size.")
    learning_rate: float = Field(
        default=1e-5, ge=LEARNING_RATE_RANGE[0], le=LEARNING_RATE_RANGE[1], description="Learning rate."
    )


class FineTuningArgs(StrictModel):
    name: str = Field(
        max_length=20, pattern=NAME, description="Custom model name within the stack (bucket names stay under 63)."
    )
    run_id: str = Field(
        max_length=16, pattern=NAME,
        description="Identifies one training run: job names cannot be reused, so a new run needs a new runId.",
    )
    base_model: Annotated[str, one_of(IMAGE_MODELS)] = Field(
        default=DEFAULT_IMAGE_MODEL,
        description="Base model to fine-tune (its versioned customization id; lifecycle and regions in "
                    "components/catalog/bedrock_models.py)."
    )
    training_data_s3_uri: S3Uri = Field(
        default=None, description="Manifest (JSONL) in your own bucket; default: train.jsonl in the created bucket."
    )
    local_manifest: str | None = Field(
        default=None, description="A local manifest whose image-refs are image files relative to it (path "
                                  "relative to the project): validated at plan time, then the images and the "
                                  "manifest, its image-refs rewritten to the uploaded objects, go to the created "
                                  "bucket (used when trainingDataS3Uri is not set).",
    )
    image_count: int | None = Field(
        default=None, ge=5, le=10_000, description="Number of images (default: counted from localManifest)."
    )
    output_s3_uri: S3Uri = Field(default=None, description="Output location; default: the created bucket.")
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters, description="Hyperparameters.")
    vpc: bool = Field(default=False, description="Run the job in the platform's private subnets.")


    @model_validator(mode="after")
    def _data(self) -> FineTuningArgs:
        if self.training_data_s3_uri is None and self.local_manifest is None:
            raise problem("trainingDataS3Uri", "expected trainingDataS3Uri (a manifest in your bucket) or "
                                               "localManifest (uploaded for you); found neither")
        if self.hyperparameters.step_count is None and self.image_count is None and self.local_manifest is None:
            raise problem(("hyperparameters", "stepCount"), "expected a step count, or imageCount / localManifest "
                                                            "to recommend one from; found none")
        return self


class PretrainingHyperParameters(StrictModel):
    """Titan Text customization hyperparameters (Bedrock user guide, cm-hp-titan-text.html); the batch size is
    also capped per model by its record limits (checked against the catalog)."""

    epoch_count: int = Field(default=5, ge=1, le=10, description="Passes over the training data.")
    batch_size: int = Field(default=1, ge=1, le=64, description="Records per batch (a larger batch halves the "
                                                                 "tokens a record may hold).")
    learning_rate: float = Field(default=1e-5, gt=0, le=1, description="Learning rate.")
    learning_rate_warmup_steps: int = Field(default=5, ge=0, le=250, description="Warm-up steps.")

    def as_strings(self) -> dict[str, str]:
        return {"epochCount": str(self.epoch_count), "batchSize": str(self.batch_size),
                "learningRate": f"{self.learning_rate:g}",
                "learningRateWarmupSteps": str(self.learning_rate_warmup_steps)}


class ContinuedPretrainingArgs(StrictModel):
    name: str = Field(max_length=20, pattern=NAME, description="Custom model name within the stack.")
    run_id: str = Field(max_length=16, pattern=NAME, description="Identifies one training run (a new run, a new "
                                                                  "runId: job names cannot be reused).")
    base_model: Annotated[str, one_of(PRETRAINING_MODELS)] = Field(
        default=DEFAULT_PRETRAINING_MODEL,
        description="Base model to continue pre-training (customization id; limits in the catalog).")
    training_data_uri: S3Uri = Field(
        default=None, description="A JSONL file of {\"input\": ...} records in your own bucket.")
    local_corpus: str | None = Field(
        default=None, description="The output folder of `mlplat corpus curate` (path relative to the project): "
                                  "its bedrock/train.jsonl is checked at plan time and uploaded to the created "
                                  "bucket (used when trainingDataUri is not set).")
    validation_data_uri: S3Uri = Field(default=None, description="Validation JSONL in your own bucket.")
    output_uri: S3Uri = Field(default=None, description="Output location; default: the created bucket.")
    hyper_parameters: PretrainingHyperParameters = Field(default_factory=PretrainingHyperParameters,
                                                         description="Hyperparameters.")
    vpc: bool = Field(default=False, description="Run the job in the platform's private subnets.")


    @model_validator(mode="after")
    def _data(self) -> ContinuedPretrainingArgs:
        if (self.training_data_uri is None) == (self.local_corpus is None):
            raise problem("trainingDataUri", "expected exactly one of trainingDataUri (a JSONL file in your bucket) "
                                             f"and localCorpus (a curated folder); found "
                                             f"{'both' if self.local_corpus else 'neither'}")
        return self


class ThroughputArgs(StrictModel):
    name: str = Field(max_length=40, pattern=NAME, description="Provisioned model name within the stack.")
    model_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:(\d{12})?:(custom-model|foundation-model)/.+$",
        description="Model to serve (a custom or foundation model ARN).",
    )
    from_customization: str | None = Field(
        default=None, description="Serve the model of a bedrock.fineTuning[] or bedrock.continuedPretraining[] "
                                  "entry (its name) once its job completed.",
    )
    from_fine_tuning: str | None = Field(
        default=None, description="Former name of fromCustomization (still accepted).",
    )
    model_units: int = Field(default=1, ge=1, le=100, description="Model units purchased.")
    commitment: Literal["none", "OneMonth", "SixMonths"] = Field(
        default="none", description="Commitment term; committed throughput cannot be deleted before it ends.",
    )
    evaluation_jobs: list[Annotated[str, StringConstraints(
        pattern=r"^arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:evaluation-job/[a-z0-9]{12}$")]] = Field(
        default_factory=list, description="The model evaluation jobs that justified this throughput (`mlplat "
                                          "bedrock evaluate` prints them); a commitment without any is a plan "
                                          "warning.")

    @property
    def source(self) -> str | None:
        """The customization (stack name) whose model this throughput serves."""
        return self.from_customization or self.from_fine_tuning

    @property
    def source_key(self) -> str:
        return "fromFineTuning" if self.from_fine_tuning else "fromCustomization"

    @model_validator(mode="after")
    def _one_source(self) -> ThroughputArgs:
        given = [k for k, v in (("modelArn", self.model_arn), ("fromCustomization", self.from_customization),
                                ("fromFineTuning", self.from_fine_tuning)) if v is not None]
        if len(given) != 1:
            raise problem("modelArn", "expected exactly one of modelArn and fromCustomization; found "
                                      f"{' and '.join(given) or 'neither'}")
        return self


class InvocationLoggingArgs(StrictModel):
    enabled: bool = Field(default=False, description="Account-wide Bedrock model invocation logging.")
    cloudwatch: bool = Field(default=True, description="Deliver to a KMS-encrypted CloudWatch log group.")
    s3: bool = Field(default=False, description="Also deliver to a KMS-encrypted S3 bucket.")
    retention_days: LogRetentionDays = Field(default=90, description="Log group retention in days.")


class BedrockArgs(StrictModel):
    fine_tuning: Annotated[list[FineTuningArgs], UniqueByName] = Field(
        default_factory=list, description="Titan Image Generator fine-tuning."
    )
    continued_pretraining: Annotated[list[ContinuedPretrainingArgs], UniqueByName] = Field(
        default_factory=list, description="Titan Text continued pre-training on a curated corpus.",
    )
    provisioned_throughput: Annotated[list[ThroughputArgs], UniqueByName] = Field(
        default_factory=list, description="Provisioned Throughput."
    )
    invocation_logging: InvocationLoggingArgs = Field(
        default_factory=InvocationLoggingArgs, description="Model invocation logging."
    )
