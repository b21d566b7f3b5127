"""Shared building blocks: the strict args base model, the tag contract and option helpers.

Kept free of provider imports: `stacks/config.py` imports it on every run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel

from components.catalog.tags import REQUIRED_TAG_KEYS

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


# -- Reusable field types: one rule, one place ------------------------------------------------------
#: CloudWatch Logs accepts only these retention values (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)


def one_of(allowed: Sequence[Any], what: str = "one of") -> AfterValidator:
    """A validator that accepts only `allowed` values, naming them when it refuses one."""

    def check(value: Any) -> Any:
        if value not in allowed:
            raise ValueError(f"expected {what} {', '.join(map(str, allowed))}; found {value!r}")
        return value

    return AfterValidator(check)


def matching(pattern: re.Pattern[str], expected: str) -> AfterValidator:
    """A validator for strings that must match `pattern`; `expected` describes them to the user."""

    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"expected {expected}")
        return value

    return AfterValidator(check)


LogRetentionDays = Annotated[int, one_of(LOG_RETENTION_DAYS)]

EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
Email = Annotated[str, matching(EMAIL, "an email address such as ana@example.com")]

#: S3 bucket naming rules (3-63 characters, lowercase, no IP address, no `xn--` prefix, no `..`).
BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
BucketName = Annotated[str, matching(BUCKET, "an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)")]
#: An S3 prefix (`s3://bucket/` or `s3://bucket/some/path/`) and an S3 object URI (a key not ending in /).
S3_PREFIX = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([^\s]*/)?$")
S3_OBJECT = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^\s]*[^/\s]$")

#: A name that becomes part of AWS resource names: lowercase letters and digits, single inner hyphens.
ResourceName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9](-?[a-z0-9])*$")]
#: A Kubernetes object name that must also be a DNS-1035 label (starts with a letter).
Dns1035Label = Annotated[str, StringConstraints(pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$", max_length=63)]


def unique(items: Sequence[Any], key: Callable[[Any], str], field: str, where: str = "") -> None:
    """Refuse repeated keys in a list, naming each repeat at its own key path (`[i].<field>`) and the first.

    `where` is the list's own key (`nodeGroups`), used to name the first occurrence.
    """
    first: dict[str, int] = {}
    problems: list[tuple[Loc, str]] = []
    for i, item in enumerate(items):
        value = key(item)
        if value in first:
            again = f"{where}[{first[value]}].{field}"
            problems.append(((i, field), f"expected a unique {field}; {value!r} is also {again}"))
        first.setdefault(value, i)
    if problems:
        raise FieldProblems(problems)


def unique_names(items: list[Any], info: ValidationInfo) -> list[Any]:
    """A list validator: the items' `name`s are unique."""
    unique(items, lambda item: item.name, "name", to_camel(info.field_name or ""))
    return items


UniqueByName = AfterValidator(unique_names)
