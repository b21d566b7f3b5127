"""Shared building blocks: the strict args base model, the tag contract and option helpers.

Kept free of provider imports: `stacks/config.py` imports it on every run.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.alias_generators import to_camel

#: The tag keys every taggable resource carries; the policy pack checks the same tuple.
REQUIRED_TAG_KEYS: tuple[str, ...] = ("environment", "project", "owner", "cost-center")

PROJECT = "ml-platform"

Loc = tuple[str | int, ...]


class FieldProblems(ValueError):
    """Cross-field problems raised by a model validator, each attached to the field it is about.

    Pydantic reports a model validator's error at the model itself (`nodeGroups[0]`); the config
    error formatter reads `problems` to point each line at the field (`nodeGroups[0].desiredSize`).
    Field paths use the YAML (camelCase) key names, relative to the model.
    """

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))


def problem(field: str | Loc, message: str) -> FieldProblems:
    """One cross-field problem at `field` (a key, or a path such as `("users", 0, "userName")`)."""
    return FieldProblems([((field,) if isinstance(field, str) else tuple(field), message)])


class StrictModel(BaseModel):
    """Base of every args/config model: camelCase keys, unknown keys rejected, immutable."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=True,
    )


TagValue = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[\w\s.:/=+@-]*$")]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w\s.:/=+@-]+$")]


class Tags(StrictModel):
    """Ownership tags. `environment` and `project` are added by the platform, not by users."""

    owner: TagValue = Field(description="Team or person accountable for the resources (tag `owner`).")
    cost_center: TagValue = Field(description="Cost center billed for the resources (tag `cost-center`).")
    extra: dict[TagKey, TagValue] = Field(
        default_factory=dict, description="Additional tags applied to every taggable resource."
    )

    @field_validator("extra")
    @classmethod
    def _no_reserved(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = [k for k in value if k.lower().startswith("aws:") or k in REQUIRED_TAG_KEYS]
        if reserved:
            raise ValueError(
                f"tag keys starting with aws: and the platform's own keys ({', '.join(REQUIRED_TAG_KEYS)}) "
                f"cannot be set in extra; found {', '.join(reserved)}"
            )
        return value

    def resolve(self, environment: str) -> dict[str, str]:
        """The full tag set for the provider's `default_tags`."""
        tags = dict(self.extra)
        tags.update(
            {"environment": environment, "project": PROJECT, "owner": self.owner, "cost-center": self.cost_center}
        )
        return tags
