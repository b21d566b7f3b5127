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
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

Lifecycle = Literal["Active", "Legacy"]


@dataclass(frozen=True)
class BaseModel:
    model_id: str
    name: str
    customization: tuple[Literal["FINE_TUNING", "CONTINUED_PRE_TRAINING"], ...]
    regions: tuple[str, ...]
    lifecycle: Lifecycle
    #: Requests fail after this date (Bedrock "Model lifecycle"); None: not announced.
    end_of_life: dt.date | None = None

    def usable_on(self, day: dt.date) -> bool:
        return self.end_of_life is None or day < self.end_of_life


BASE_MODELS: dict[str, BaseModel] = {
    m.model_id: m
    for m in (
        BaseModel("amazon.titan-image-generator-v2:0", "Titan Image Generator G1 v2", ("FINE_TUNING",),
                  ("us-east-1", "us-west-2"), "Active"),
        BaseModel("amazon.titan-image-generator-v1:0", "Titan Image Generator G1", ("FINE_TUNING",),
                  ("us-east-1",), "Legacy"),
    )
}
DEFAULT_IMAGE_MODEL = "amazon.titan-image-generator-v2:0"


def today() -> dt.date:
    """The date lifecycle checks compare with (a function, so tests can set the clock)."""
    return dt.date.today()
