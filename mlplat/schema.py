"""The plan document's JSON Schema, shipped with the package (`mlplat/plan.schema.json`)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def plan_schema() -> dict[str, Any]:
    return json.loads(resources.files("mlplat").joinpath("plan.schema.json").read_text(encoding="utf-8"))


def first_error(document: Any) -> str | None:
    """The most relevant schema violation of `document` as one line, or None when it is a valid plan."""
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(plan_schema()).iter_errors(document))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message} (at {where or 'the top level'})"
