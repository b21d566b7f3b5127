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


def pytest_configure(config: pytest.Config) -> None:
    """One id per test run, set before xdist starts its workers (they inherit the environment)."""
    if not hasattr(config, "workerinput"):
        import os
        import uuid

        os.environ["MLPLAT_TEST_RUN"] = uuid.uuid4().hex


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller (not an xdist worker) removes the plans the workers shared during the run."""
    if not hasattr(session.config, "workerinput"):
        import shutil

        from tests.helpers import _shared_dir

        shutil.rmtree(_shared_dir(), ignore_errors=True)
