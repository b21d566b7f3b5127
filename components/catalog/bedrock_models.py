"""Bedrock base models the platform customizes: ids, customization types, regions and record limits.

Sources (checked 2026-11-29):
- Customization ids and fine-tuning regions: Bedrock user guide, "Supported models and Regions for
  fine-tuning and continued pre-training" (custom-model-supported.html): Titan Image Generator G1
  `amazon.titan-image-generator-v1:0` in us-east-1; G1 v2 `amazon.titan-image-generator-v2:0` in
  us-east-1 and us-west-2. The customization id is the versioned one; the unversioned
  `amazon.titan-image-generator-v1` is refused by CreateModelCustomizationJob.
- Lifecycle (Active, Legacy, end of life) is not here: components/catalog/lifecycle.py and its data file are the
  one calendar every check reads.
- Continued pre-training (checked 2026-11-29): Bedrock user guide, "Supported models and Regions for fine-tuning
  and continued pre-training" (custom-model-supported.html) and the Regions table (bedrock-regions.html): Titan
  Text G1 Express and Lite, in us-east-1 and us-west-2. Customization ids `amazon.titan-text-express-v1:0:8k`
  (custom-model-supported.html) and `amazon.titan-text-lite-v1:0:4k` (AWS's Bedrock workshop, continued
  pre-training notebook). Record limits ("Model customization quotas", model-training-validation-requirements.html):
  input tokens per record 4,096 at batch size 1 (Lite: 1-2) and 2,048 at batch size 2-4 (Lite: 3-6); training
  file at most 10 GB, validation file 100 MB; records `{"input": "<text>"}` (dataset-prep-continued-pretraining.html).
  Hyperparameters (cm-hp-titan-text.html): epochCount 1-10 (5), batchSize 1-64 (1), learningRate 0-1 (1e-5),
  learningRateWarmupSteps 0-250 (5); the data-limits page caps the batch size lower (4 / 6), which we enforce.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class PretrainingLimits:
    """Continued pre-training limits: (largest batch size, input tokens per record) steps, and file sizes."""

    record_tokens: tuple[tuple[int, int], ...]
    max_training_bytes: int = 10 * 1024**3
    max_validation_bytes: int = 100 * 1024**2

    def max_record_tokens(self, batch_size: int = 1) -> int:
        return next((tokens for largest, tokens in self.record_tokens if batch_size <= largest), 0)

    @property
    def max_batch_size(self) -> int:
        return self.record_tokens[-1][0]


@dataclass(frozen=True)
class BaseModel:
    model_id: str
    name: str
    customization: tuple[Literal["FINE_TUNING", "CONTINUED_PRE_TRAINING"], ...]
    regions: tuple[str, ...]
    pretraining: PretrainingLimits | None = None
    # Lifecycle (Active, Legacy, end of life, successor): components/catalog/lifecycle.py, the one calendar.


BASE_MODELS: dict[str, BaseModel] = {
    m.model_id: m
    for m in (
        BaseModel("amazon.titan-image-generator-v2:0", "Titan Image Generator G1 v2", ("FINE_TUNING",),
                  ("us-east-1", "us-west-2")),
        BaseModel("amazon.titan-image-generator-v1:0", "Titan Image Generator G1", ("FINE_TUNING",),
                  ("us-east-1",)),
        BaseModel("amazon.titan-text-express-v1:0:8k", "Titan Text G1 - Express",
                  ("FINE_TUNING", "CONTINUED_PRE_TRAINING"), ("us-east-1", "us-west-2"),
                  pretraining=PretrainingLimits(((1, 4096), (4, 2048)))),
        BaseModel("amazon.titan-text-lite-v1:0:4k", "Titan Text G1 - Lite",
                  ("FINE_TUNING", "CONTINUED_PRE_TRAINING"), ("us-east-1", "us-west-2"),
                  pretraining=PretrainingLimits(((2, 4096), (6, 2048)))),
    )
}
DEFAULT_IMAGE_MODEL = "amazon.titan-image-generator-v2:0"
DEFAULT_PRETRAINING_MODEL = "amazon.titan-text-express-v1:0:8k"
IMAGE_MODELS = tuple(m for m in BASE_MODELS if "image" in m)
PRETRAINING_MODELS = tuple(m for m, v in BASE_MODELS.items() if v.pretraining is not None)


def today() -> dt.date:
    """The date lifecycle checks compare with (a function, so tests can set the clock)."""
    return dt.date.today()


def model_arn_base(arn: object) -> tuple[Literal["foundation-model", "custom-model"], str] | None:
    """(kind, foundation model id) of a Bedrock model ARN; None for anything else.

    `arn:aws:bedrock:<region>::foundation-model/<id>` is its own base. A custom model's ARN names its base:
    `arn:aws:bedrock:<region>:<account>:custom-model/<base id>/<12-character id>` (botocore bedrock
    `CustomModelArn`); an imported model's (`custom-model/imported/<id>`) names none.
    """
    if not isinstance(arn, str):
        return None
    _, marker, model = arn.partition(":foundation-model/")
    if marker:
        return ("foundation-model", model) if model else None
    _, marker, rest = arn.partition(":custom-model/")
    base, _, suffix = rest.rpartition("/")
    if not (marker and base and suffix) or base == "imported":
        return None
    return "custom-model", base


def base_model_of(arn: object) -> str | None:
    """The foundation model behind a foundation- or custom-model ARN (None when it names none)."""
    parsed = model_arn_base(arn)
    return parsed[1] if parsed else None


def custom_model_base(arn: object) -> str | None:
    """The base model of a custom model's ARN (None for any other ARN)."""
    parsed = model_arn_base(arn)
    return parsed[1] if parsed and parsed[0] == "custom-model" else None
