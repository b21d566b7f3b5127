"""DORA computations on fixed data sets, answers checked by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.helpers import ROOT

HANDLERS = ROOT / "components" / "kpi_report" / "handlers"


@pytest.fixture
def dora(monkeypatch):
    monkeypatch.syspath_prepend(str(HANDLERS))
    import importlib

    return importlib.import_module("dora")


START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 11, 8, tzinfo=UTC)  # a 7-day window


def _dep(day: int, hour: int, lead_hours: list[float], status: str = "success", incident: bool = False) -> dict:
    deployed = datetime(2026, 11, day, hour, tzinfo=UTC).timestamp()
    return {"deployed_at": deployed, "commit_times": [deployed - h * 3600 for h in lead_hours], "status": status,
            "caused_incident": incident}


def test_a_normal_week(dora):
    deployments = [_dep(1, 10, [2, 30]), _dep(2, 10, [5]), _dep(3, 10, [1]), _dep(4, 10, [50], "failed"),
                   _dep(5, 10, [3], incident=True), _dep(6, 10, [4]), _dep(7, 10, [100])]
    incidents = [{"opened_at": "2026-11-05T11:00:00Z", "resolved_at": "2026-11-05T12:30:00Z"},
                 {"opened_at": "2026-11-06T00:00:00Z", "resolved_at": "2026-11-06T04:00:00Z"}]
    report = dora.compute(dora.parse_records(deployments, incidents), START, END)
    # 6 successful deployments over 7 days
    assert report.deployment_frequency.value == round(6 / 7, 3) and report.deployment_frequency.band == "high"
    # lead times of successful deployments: 2, 30, 5, 1, 3, 4, 100 -> sorted 1,2,3,4,5,30,100: median 4, p90 100
    assert report.lead_time.value == 4.0 and report.lead_time.detail["p90_hours"] == 100.0
    assert report.lead_time.band == "elite"
    # Four Keys: successful deployments linked to an incident (1) / successful deployments (6); the failed
    # pipeline run is not a deployment
    assert report.change_failure_rate.value == round(1 / 6, 4) and report.change_failure_rate.band == "low"
    # restores: 1.5 h and 4 h -> median 2.75
    assert report.time_to_restore.value == 2.75 and report.time_to_restore.band == "high"


def test_no_deployments_and_no_incidents_is_no_data(dora):
    report = dora.compute(dora.parse_records([], []), START, END)
    for metric in (report.deployment_frequency, report.lead_time, report.change_failure_rate, report.time_to_restore):
        assert metric.value is None and metric.band == "no data"


def test_nothing_shipped_in_this_window_is_zero_per_day(dora):
    report = dora.compute(dora.parse_records([_dep(20, 10, [1])], []), START, END)
    assert report.deployment_frequency.value == 0.0 and report.deployment_frequency.band == "low"
    assert report.lead_time.value is None and report.change_failure_rate.value is None


def test_all_failed(dora):
    report = dora.compute(dora.parse_records([_dep(2, 1, [1], "failed"), _dep(3, 1, [1], "failed")], []), START, END)
    assert report.deployment_frequency.value == 0.0
    assert report.change_failure_rate.value is None, "no deployment reached production: nothing to measure"
    assert report.change_failure_rate.band == "no data"
    assert report.lead_time.value is None, "lead time counts only changes that reached production"


def test_restores_spanning_the_window(dora):
    incidents = [
        {"opened_at": "2026-10-30T00:00:00Z", "resolved_at": "2026-11-02T00:00:00Z"},  # 72 h, resolved inside
        {"opened_at": "2026-11-07T20:00:00Z", "resolved_at": "2026-11-08T02:00:00Z"},  # resolved after the end
        {"opened_at": "2026-11-07T23:00:00Z"},                                         # still open
        {"opened_at": "2026-11-03T00:00:00Z", "resolved_at": "2026-11-03T00:30:00Z"},  # 0.5 h
    ]
    report = dora.compute(dora.parse_records([], incidents), START, END)
    assert report.time_to_restore.value == round((72 + 0.5) / 2, 2)
    assert report.time_to_restore.detail == {"restored": 2, "open_at_end": 2}
    assert report.time_to_restore.band == "medium"


def test_malformed_records_are_counted_not_fatal(dora):
    records = dora.parse_records([_dep(2, 1, [1]), {"status": "success"}, {"deployed_at": "yesterday",
                                                                          "status": "success"},
                                  {"deployed_at": 1, "status": "rolled-back"}], [{"resolved_at": "x"}, "junk"])
    assert records.malformed == 5 and len(records.deployments) == 1
    assert any("status 'rolled-back'" in p for p in records.problems)
    assert dora.compute(records, START, END).malformed_records == 5


@pytest.mark.parametrize("metric,value,expected", [
    ("deployment_frequency", 3.0, "elite"), ("deployment_frequency", 0.2, "high"),
    ("deployment_frequency", 0.05, "medium"), ("deployment_frequency", 0.01, "low"),
    ("lead_time", 23.9, "elite"), ("lead_time", 100, "high"), ("lead_time", 500, "medium"), ("lead_time", 900, "low"),
    ("change_failure_rate", 0.05, "elite"), ("change_failure_rate", 0.1, "high"),
    ("change_failure_rate", 0.15, "medium"), ("change_failure_rate", 0.2, "low"),
    ("time_to_restore", 0.5, "elite"), ("time_to_restore", 5, "high"), ("time_to_restore", 100, "medium"),
    ("time_to_restore", 200, "low"),
    # Exactly on each bound: frequency is at least the bound (>=), lead time and restore time strictly below it
    # (<), change failure rate at most it (<=): a flip of any comparison moves one of these.
    ("deployment_frequency", 1.0, "elite"), ("deployment_frequency", 1 / 7, "high"),
    ("deployment_frequency", 1 / 30, "medium"),
    ("lead_time", 24.0, "high"), ("lead_time", 24.0 * 7, "medium"), ("lead_time", 24.0 * 30, "low"),
    ("time_to_restore", 1.0, "high"), ("time_to_restore", 24.0, "medium"), ("time_to_restore", 24.0 * 7, "low"),
])
def test_band_boundaries(dora, metric, value, expected):
    assert dora.band(metric, value) == expected


def test_change_failure_rate_counts_incidents_of_successful_deployments_only(dora):
    """DORA's Four Keys: 3 failed runs, 7 successful deployments and no incident is 0 %, not 30 %."""
    runs = [_dep(1 + i % 7, 8 + i, [1], "failed") for i in range(3)] + [_dep(1 + i, 12, [1]) for i in range(7)]
    report = dora.compute(dora.parse_records(runs, []), START, END)
    assert report.change_failure_rate.value == 0.0 and report.change_failure_rate.band == "elite"
    runs[-1]["caused_incident"] = True
    report = dora.compute(dora.parse_records(runs, []), START, END)
    assert report.change_failure_rate.value == round(1 / 7, 4)
    assert report.change_failure_rate.detail == {"caused_incident": 1, "deployments": 7}
