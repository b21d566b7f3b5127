"""The calendar of the Bedrock models the platform names: facts that expire, checked against the day of the plan.

Source: Bedrock user guide, "Model lifecycle" (model-lifecycle-legacy.html, the page for models launched before
September 7, 2026; checked 2026-12-07). Its rules, as worded there:
- "A model will be in the Legacy state for at least 6 months before the EOL date ... New customers can't use Legacy
  models"; for EOL dates after February 1, 2026 there is a public extended access period at higher prices;
- "You can't create a new Provisioned Throughput for models in the Legacy state", and "after the model is in Legacy
  state, you cannot create new fine-tuning jobs on that model";
- "On, or soon after the EOL date, the model is no longer available for use in all AWS Regions and requests made to
  this version will fail ... Migration will not happen automatically."
The API reports the same as `modelLifecycle` (status ACTIVE / LEGACY, legacyTime, publicExtendedAccessTime,
endOfLifeTime: botocore bedrock 2023-04-20 `FoundationModelLifecycle`); `scripts/refresh_catalog.py --lifecycle`
reads it where credentials exist. Successors: the lifecycle tables name none; where one is given it is the
provider's current model of the same family (awslabs/startups ai-model-lifecycle.md, 2026-08-17), and the platform
only names one it can use.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

SOURCE = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-lifecycle-legacy.html"

Use = Literal["invoke", "fine-tune", "pretrain", "throughput"]


@dataclass(frozen=True)
class ModelLifecycle:
    model_id: str
    name: str
    #: The day the model became Legacy (None: Active).
    legacy: dt.date | None = None
    #: Public extended access starts (higher prices), where announced.
    extended_access: dt.date | None = None
    #: Requests fail from this day (None: none announced).
    end_of_life: dt.date | None = None
    #: What to move to, in words (a model id where there is one).
    successor: str | None = None

    def status(self, day: dt.date) -> str:
        if self.end_of_life is not None and day >= self.end_of_life:
            return "EOL"
        if self.legacy is not None and day >= self.legacy:
            return "Legacy"
        return "Active"


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


#: Legacy on the lifecycle pages, the day not stated there.
UNDATED = dt.date.min


_NO_IMAGE_SUCCESSOR = ("no Amazon image model can be fine-tuned on Bedrock today (Nova Canvas, the newer one, "
                       "reached its end of life on 2026-09-30); fine-tune an open image model on the GPU cluster")
_NO_PRETRAINING = ("no current Bedrock model accepts continued pre-training (Bedrock user guide, custom models: "
                   "fine-tuning, reinforcement fine-tuning and distillation); use trainingJobs[] with objective "
                   "continued-pretraining on the GPU cluster, which serves what it trains")

#: What the platform says of each model: its name, and what to move to. The dates are in
#: `data/bedrock_lifecycle.json` (`status`, `legacyTime`, `publicExtendedAccessTime`, `endOfLifeTime` as
#: `modelLifecycle` gives them), which `scripts/refresh_catalog.py --lifecycle` rewrites from the API. Titan Text's
#: Legacy date, 2025-02-11, is an upper bound: langchain4j PR 2532 cites AWS's end-of-life notice on that day.
NAMES: dict[str, tuple[str, str | None]] = {
    # Image generation (fine-tuning bases).
    "amazon.titan-image-generator-v2:0": ("Titan Image Generator G1 v2", _NO_IMAGE_SUCCESSOR),
    "amazon.titan-image-generator-v1:0": ("Titan Image Generator G1", _NO_IMAGE_SUCCESSOR),
    "amazon.nova-canvas-v1:0": ("Nova Canvas", _NO_IMAGE_SUCCESSOR),
    # Continued pre-training bases.
    "amazon.titan-text-express-v1:0:8k": ("Titan Text G1 - Express", _NO_PRETRAINING),
    "amazon.titan-text-lite-v1:0:4k": ("Titan Text G1 - Lite", _NO_PRETRAINING),
    # Text models the KPI report may summarize with.
    "anthropic.claude-3-haiku-20240307-v1:0": ("Claude 3 Haiku", "amazon.nova-lite-v1:0 (or Claude Haiku 4.5)"),
    "anthropic.claude-3-5-haiku-20241022-v1:0": ("Claude 3.5 Haiku", "amazon.nova-lite-v1:0 (or Claude Haiku 4.5)"),
    "anthropic.claude-3-5-sonnet-20240620-v1:0": ("Claude 3.5 Sonnet", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
    "anthropic.claude-3-5-sonnet-20241022-v2:0": ("Claude 3.5 Sonnet v2", "anthropic.claude-sonnet-4-5-20250929-v1:0"),
    "anthropic.claude-sonnet-4-20250514-v1:0": ("Claude Sonnet 4", "a current Claude Sonnet"),
    "anthropic.claude-sonnet-4-5-20250929-v1:0": ("Claude Sonnet 4.5", "a current Claude Sonnet"),
    "anthropic.claude-opus-4-1-20250805-v1:0": ("Claude Opus 4.1", "a current Claude Opus"),
    "amazon.nova-premier-v1:0": ("Nova Premier", "Nova 2 Pro"),
    "amazon.nova-micro-v1:0": ("Nova Micro", None),
    "amazon.nova-lite-v1:0": ("Nova Lite", None),
    "amazon.nova-pro-v1:0": ("Nova Pro", None),
}


def _date(text: str | None) -> dt.date | None:
    return None if text is None else _d(text[:10])


def from_api(model_id: str, facts: dict, name: str, successor: str | None) -> ModelLifecycle:
    """A model's lifecycle from `modelLifecycle` facts (dates as ISO strings); LEGACY without a date is UNDATED."""
    legacy = _date(facts.get("legacyTime"))
    if facts.get("status") == "LEGACY" and legacy is None:
        legacy = UNDATED
    return ModelLifecycle(model_id, name, legacy, _date(facts.get("publicExtendedAccessTime")),
                          _date(facts.get("endOfLifeTime")), successor)


def _load() -> tuple[dt.date, dict[str, ModelLifecycle]]:
    from components.catalog.data import load

    data = load("bedrock_lifecycle")
    missing = sorted(set(NAMES) - set(data["models"]))
    if missing:
        raise RuntimeError(f"components/catalog/data/bedrock_lifecycle.json has no facts for {', '.join(missing)}")
    return _d(data["checked"]), {m: from_api(m, data["models"][m], *NAMES[m]) for m in NAMES}


CHECKED, MODELS = _load()

#: Inference-profile prefixes a model id may carry (cross-Region inference: us., eu., apac., global.).
PROFILE_PREFIXES = ("us.", "eu.", "apac.", "us-gov.", "global.")


def base_id(model_id: str) -> str:
    """The foundation model behind an inference profile id (`us.amazon.nova-lite-v1:0` -> `amazon.nova-lite-v1:0`)."""
    return next((model_id[len(p):] for p in PROFILE_PREFIXES if model_id.startswith(p)), model_id)


def problem(model_id: str, use: Use, day: dt.date) -> tuple[str, str] | None:
    """("error" | "warning", why) for using `model_id` on `day`, or None when it is fine."""
    model = MODELS.get(base_id(model_id))
    if model is None:
        return ("error", f"{model_id} is not a Bedrock model the platform knows (components/catalog/lifecycle.py, "
                         f"checked {CHECKED}): add it there once `aws bedrock get-foundation-model` shows it ACTIVE")
    status = model.status(day)
    then = f" (Bedrock model lifecycle, checked {CHECKED})"
    since = "" if model.legacy in (None, UNDATED) else f" since {model.legacy}"
    if status == "EOL":
        return ("error", f"{model.name} ({model.model_id}) reached its end of life on {model.end_of_life}: every "
                         f"request fails{then}; {model.successor or 'no successor announced'}")
    if status == "Legacy" and use in ("fine-tune", "pretrain"):
        return ("error", f"{model.name} ({model.model_id}) is Legacy{since}: no new customization jobs"
                         f"{then}; {model.successor or 'no successor announced'}")
    if status == "Legacy" and use == "throughput":
        return ("error", f"{model.name} ({model.model_id}) is Legacy{since}: no new Provisioned "
                         f"Throughput{then}; {model.successor or 'no successor announced'}")
    if status == "Legacy":
        eol = f", end of life {model.end_of_life}" if model.end_of_life else ""
        access = f", public extended access (higher prices) from {model.extended_access}" if model.extended_access \
            else ""
        return ("warning", f"{model.name} ({model.model_id}) is Legacy{since}{access}{eol}; move to "
                           f"{model.successor or 'a current model'}")
    return None
