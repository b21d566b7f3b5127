"""Session fixtures: the shipped stacks are planned once per test session and shared (read-only)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.helpers import PlanView, plan_environment, plan_stack

SHIPPED_STACKS = ("dev", "staging", "prod")


class _Plans(dict):
    def __init__(self, plan) -> None:
        super().__init__()
        self._plan = plan

    def __missing__(self, stack: str) -> PlanView:
        self[stack] = self._plan(stack)
        return self[stack]


@pytest.fixture(scope="session")
def shipped() -> dict[str, PlanView]:
    """The shipped stacks (`stacks/`, the examples users edit), planned lazily once: only for "plans clean"."""
    return _Plans(plan_stack)


@pytest.fixture(scope="session")
def envs() -> dict[str, PlanView]:
    """The tests' own environments (tests/fixtures/stacks), planned lazily once: `envs["prod"]`."""
    return _Plans(plan_environment)


def _share_botocore_data() -> None:
    """One botocore data loader per process, for every session.

    moto starts each mock with no default boto3 session, so every fixture's first client would parse the service's
    JSON model, its endpoint rules and the endpoints file again (about 40 ms a client). The loader only reads the
    files botocore ships (and caches them), so sharing it changes no request and no response.
    """
    import botocore.session

    loaders: dict[str | None, object] = {}
    create = botocore.session.create_loader

    def shared(search_path_string: str | None = None) -> object:
        if search_path_string not in loaders:
            loaders[search_path_string] = create(search_path_string)
        return loaders[search_path_string]

    botocore.session.create_loader = shared


#: The Bedrock calendar the tests plan on: a day when the models the fixtures customize were current, so behaviour
#: tests do not turn red on a date. The calendar's own tests set their days explicitly; the shipped stacks are
#: planned on the real day by `make plans` (CI).
BEDROCK_TEST_DAY = dt.date(2025, 1, 15)
#: The Kubernetes support calendar the tests plan on (control-plane price, support warnings): the day these tests
#: were written, so 1.36 leaving standard support (2027-08-03) prices nothing differently here. The calendar's own
#: tests (tests/mlplat/test_cost.py, the support-window tests) pass their days explicitly.
EKS_TEST_DAY = dt.date(2026, 12, 7)


def pytest_configure(config: pytest.Config) -> None:
    """One id per test run, set before xdist starts its workers (they inherit the environment); the test calendar."""
    from components.catalog import bedrock_models, eks

    bedrock_models.today = lambda: BEDROCK_TEST_DAY
    eks.today = lambda: EKS_TEST_DAY
    _share_botocore_data()
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


def _available_bytes() -> int:
    """MemAvailable from /proc/meminfo (0 where there is none)."""
    try:
        with open("/proc/meminfo") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, ValueError, KeyError):
        return 0


#: A test process collects cyclic garbage only when it holds more than this (see pytest_collection_finish):
#: 1.5 GB, or an eighth of the memory available at start where that is more (two workers and the pack's process
#: then hold at most a quarter of it). A whole `make test` leaves about 1.6 GB per worker: one collection of that
#: costs about 5 s, and on a machine with the memory it never runs.
GARBAGE_LIMIT_BYTES = max(1_500_000_000, _available_bytes() // 8)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything imported so far lives for the whole run: keep it out of the cyclic collector's scans.

    Then the collector runs only when the process grows past `GARBAGE_LIMIT_BYTES`. A plan leaves a few hundred
    thousand objects in cycles (outputs, futures, policy proxies); collecting them after each plan cost about 0.1 s
    a plan, while the garbage of a whole `make test` leaves about 1.6 GB per worker.
    """
    import gc

    gc.collect()
    gc.freeze()
    gc.disable()


def _resident_bytes() -> int:
    import os

    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def pytest_runtest_teardown(item: pytest.Item) -> None:
    if _resident_bytes() > GARBAGE_LIMIT_BYTES:
        import gc

        gc.collect()


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's garbage dies with the process: freezing it spares the final collections (pytest's own, then the
    interpreter's at exit) a scan of up to `GARBAGE_LIMIT_BYTES` that frees nothing anyone reads."""
    import gc

    gc.freeze()
