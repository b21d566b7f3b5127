"""Offline, the plan says how old the catalog's dated facts are (the calendar keeps moving; AWS is not asked)."""

from __future__ import annotations

import datetime as dt

from mlplat.plan import Style, catalog_age, render_text


def test_the_plan_says_when_each_kind_of_fact_was_checked():
    ages = {c["facts"]: c for c in catalog_age(dt.date(2027, 3, 1))}
    assert set(ages) == {"eks_addons", "instance_types", "jumpstart_hub", "bedrock_lifecycle"}
    assert ages["instance_types"]["checked"] == "2026-11-01" and ages["instance_types"]["daysOld"] == 120
    plan = {"project": "p", "stack": "s", "resources": [], "outputs": {}, "policy": {"violations": []},
            "cost": {"hourlyUsdIdle": 0, "hourlyUsdMax": 0, "items": []},
            "catalog": catalog_age(dt.date(2027, 3, 1))}
    text = render_text(plan, "us-east-1", style=Style(False))
    assert "instance_types 2026-11-01" in text and "oldest 120 days ago" in text
