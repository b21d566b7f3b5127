"""Facts regenerated from the AWS APIs by `scripts/refresh_catalog.py` (each file names its source and date)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """`components/catalog/data/<name>.json`."""
    return json.loads(resources.files(__name__).joinpath(f"{name}.json").read_text(encoding="utf-8"))
