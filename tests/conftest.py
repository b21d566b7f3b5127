"""Session fixtures: the shipped stacks are planned once per test session and shared (read-only)."""

from __future__ import annotations

import pytest

from tests.helpers import PlanView, plan_stack

SHIPPED_STACKS = ("dev", "staging", "prod")


@pytest.fixture(scope="session")
def shipped() -> dict[str, PlanView]:
    """Lazily planned shipped stacks: `shipped["prod"]` plans prod on first use, then reuses it."""

    class _Plans(dict):
        def __missing__(self, stack: str) -> PlanView:
            self[stack] = plan_stack(stack)
            return self[stack]

    return _Plans()
