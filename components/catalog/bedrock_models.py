"""Bedrock base models the platform customizes: ids, customization types, regions and lifecycle.

Sources (checked 2026-11-29):
- Customization ids and fine-tuning regions: Bedrock user guide, "Supported models and Regions for
  fine-tuning and continued pre-training" (custom-model-supported.html): Titan Image Generator G1
  `amazon.titan-image-generator-v1:0` in us-east-1; G1 v2 `amazon.titan-image-generator-v2:0` in
  us-east-1 and us-west-2. The customization id is the versioned one; the unversioned
  `amazon.titan-image-generator-v1` is refused by CreateModelCustomizationJob.
- Lifecycle: Bedrock user guide, "Model lifecycle" (model-lifecycle.html): G1 v1 is Legacy; no new
  Provisioned Throughput can be bought for a Legacy model, and after the end-of-life date requests fail.
  G1 v2 is the current Titan image model. A stored copy of the G1 v2 model card reads "Legacy, EOL June
  30, 2026": that is not confirmed against the live page; if it holds, set it here (one line) and the
  config check refuses the model after that date.
- Continued pre-training (checked 2026-11-29): Bedrock user guide, "Supported models and Regions for fine-tuning
  and continued pre-training" (custom-model-supported.html) and the Regions table (bedrock-regions.html): Titan
  Text G1 Express and Lite, in us-east-1 and us-west-2. Customization ids `amazon.titan-text-express-v1:0:8k`
  (custom-model-supported.html) and `amazon.titan-text-lite-v1:0:4k` (AWS's Bedrock workshop, continued
  pre-training notebook). Record limits ("Model customization quotas", model-training-validation-requirements.html):
  input tokens per record 4,096 at batch size 1 (Lite: 1-2) and 2,048 at batch size 2-4 (Lite: 3-6); training
  file at most 10 GB, validation file 100 MB; records `{"input": "<text>"}` (dataset-prep-continued-pretraining.html).
  Hyperparameters (cm-hp-titan-text.html): epochCount 1-10 (5), batchSize 1-64 (1), learningRate 0-1 (1e-5),
  learningRateWarmupSteps 0-250 (5); the data-limits page caps the batch size lower (4 / 6), which we enforce.
- Both Titan Text G1 models are Legacy: the current user guide no longer lists continued pre-training, and
  third-party projects report their end of life (langchain4j PR 2532, Feb 2025; weaviate PR 10053, Dec 2025).
  No end-of-life date is confirmed against AWS's lifecycle page, so none is set: they plan with a warning, and
  no new Provisioned Throughput is planned for them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

Lifecycle = Literal["Active", "Legacy"]
#: When the lifecycle facts below were last checked against AWS (the plan says how old they are).
LIFECYCLE_CHECKED = dt.date(2026, 11, 29)


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
    lifecycle: Lifecycle
    #: Requests fail after this date (Bedrock "Model lifecycle"); None: not announced.
    end_of_life: dt.date | None = None
    pretraining: PretrainingLimits | None = None
    #: The model to move to when this one is Legacy (None: none announced).
    successor: str | None = None

    def usable_on(self, day: dt.date) -> bool:
        return self.end_of_life is None or day < self.end_of_life


BASE_MODELS: dict[str, BaseModel] = {
    m.model_id: m
    for m in (
        BaseModel("amazon.titan-image-generator-v2:0", "Titan Image Generator G1 v2", ("FINE_TUNING",),
                  ("us-east-1", "us-west-2"), "Active"),
        BaseModel("amazon.titan-image-generator-v1:0", "Titan Image Generator G1", ("FINE_TUNING",),
                  ("us-east-1",), "Legacy", successor="amazon.titan-image-generator-v2:0"),
        BaseModel("amazon.titan-text-express-v1:0:8k", "Titan Text G1 - Express",
                  ("FINE_TUNING", "CONTINUED_PRE_TRAINING"), ("us-east-1", "us-west-2"), "Legacy",
                  pretraining=PretrainingLimits(((1, 4096), (4, 2048)))),
        BaseModel("amazon.titan-text-lite-v1:0:4k", "Titan Text G1 - Lite",
                  ("FINE_TUNING", "CONTINUED_PRE_TRAINING"), ("us-east-1", "us-west-2"), "Legacy",
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
