"""DORA metrics from deployment and incident records (pure Python).

Definitions (DORA, "Accelerate State of DevOps" reports; bands from the 2023 report's clusters):
- deployment frequency: successful production deployments per day in the window;
- lead time for changes: commit time -> successful deployment, median and p90, in hours;
- change failure rate: successful deployments linked to an incident / all successful deployments, as
  DORA's reference implementation computes it (dora-team/fourkeys, `queries/`: a failed pipeline run
  is not a deployment, so it is neither a failure nor in the denominator);
- time to restore service: median of incident open -> resolved, for incidents resolved in the window
  (an incident opened before the window but resolved inside it counts with its full duration).
A metric with nothing to measure is `None` with band "no data", never a division error.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

NO_DATA = "no data"
#: (band, inclusive upper or lower bound) per metric; see module docstring for the source.
BANDS = {
    # deployments per day: elite on demand (>= 1/day), high >= 1/week, medium >= 1/month, low below
    "deployment_frequency": (("elite", 1.0), ("high", 1 / 7), ("medium", 1 / 30)),
    # hours: elite < 1 day, high < 1 week, medium < 1 month
    "lead_time": (("elite", 24.0), ("high", 24.0 * 7), ("medium", 24.0 * 30)),
    # ratio: elite <= 5 %, high <= 10 %, medium <= 15 %
    "change_failure_rate": (("elite", 0.05), ("high", 0.10), ("medium", 0.15)),
    # hours: elite < 1 hour, high < 1 day, medium < 1 week
    "time_to_restore": (("elite", 1.0), ("high", 24.0), ("medium", 24.0 * 7)),
}


def parse_time(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str) and value:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ValueError(f"not a timestamp: {value!r}")


@dataclass
class Deployment:
    deployed_at: datetime
    commit_times: list[datetime]
    succeeded: bool
    caused_incident: bool = False


@dataclass
class Incident:
    opened_at: datetime
    resolved_at: datetime | None


@dataclass
class Records:
    deployments: list[Deployment] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    malformed: int = 0
    problems: list[str] = field(default_factory=list)


def parse_records(raw_deployments: list[Any], raw_incidents: list[Any]) -> Records:
    """Typed records; a malformed record is counted and described, never fatal."""
    records = Records()
    for i, d in enumerate(raw_deployments):
        try:
            commits = d.get("commit_times") or ([d["commit_time"]] if d.get("commit_time") else [])
            status = str(d.get("status", "")).lower()
            if status not in ("success", "succeeded", "failed", "failure"):
                raise ValueError(f"status {d.get('status')!r}")
            records.deployments.append(Deployment(
                deployed_at=parse_time(d["deployed_at"]), commit_times=[parse_time(c) for c in commits],
                succeeded=status in ("success", "succeeded"), caused_incident=bool(d.get("caused_incident"))))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            records.malformed += 1
            records.problems.append(f"deployment {i}: {exc}")
    for i, inc in enumerate(raw_incidents):
        try:
            resolved = inc.get("resolved_at")
            records.incidents.append(Incident(opened_at=parse_time(inc["opened_at"]),
                                              resolved_at=parse_time(resolved) if resolved else None))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            records.malformed += 1
            records.problems.append(f"incident {i}: {exc}")
    return records


def _percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: a p90 is a value that occurred)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def band(metric: str, value: float | None) -> str:
    if value is None:
        return NO_DATA
    higher_is_better = metric == "deployment_frequency"
    for name, bound in BANDS[metric]:
        if (value >= bound) if higher_is_better else (value < bound if metric != "change_failure_rate"
                                                       else value <= bound):
            return name
    return "low"


@dataclass
class Metric:
    value: float | None
    band: str
    unit: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class DoraReport:
    window_start: str
    window_end: str
    deployment_frequency: Metric
    lead_time: Metric
    change_failure_rate: Metric
    time_to_restore: Metric
    malformed_records: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compute(records: Records, start: datetime, end: datetime) -> DoraReport:
    days = (end - start) / timedelta(days=1)
    deps = [d for d in records.deployments if start <= d.deployed_at < end]
    ok = [d for d in deps if d.succeeded]
    # No deployment records at all is "no data"; records outside the window mean nothing shipped: 0/day.
    freq = round(len(ok) / days, 3) if days > 0 and records.deployments else None
    lead_hours = [(d.deployed_at - c) / timedelta(hours=1) for d in ok for c in d.commit_times if c <= d.deployed_at]
    lead = round(statistics.median(lead_hours), 2) if lead_hours else None
    p90 = round(_percentile(lead_hours, 0.9), 2) if lead_hours else None
    failed = [d for d in ok if d.caused_incident]
    cfr = round(len(failed) / len(ok), 4) if ok else None
    restored = [i for i in records.incidents if i.resolved_at is not None and start <= i.resolved_at < end]
    restore_hours = [(i.resolved_at - i.opened_at) / timedelta(hours=1) for i in restored]  # type: ignore[operator]
    ttr = round(statistics.median(restore_hours), 2) if restore_hours else None
    still_open = sum(1 for i in records.incidents if i.opened_at < end and (i.resolved_at is None
                                                                           or i.resolved_at >= end))
    return DoraReport(
        window_start=start.isoformat(), window_end=end.isoformat(),
        deployment_frequency=Metric(freq, band("deployment_frequency", freq), "deployments/day",
                                    {"successful": len(ok), "total": len(deps), "days": round(days, 2)}),
        lead_time=Metric(lead, band("lead_time", lead), "hours (median)", {"p90_hours": p90,
                                                                           "changes": len(lead_hours)}),
        change_failure_rate=Metric(cfr, band("change_failure_rate", cfr), "ratio",
                                   {"caused_incident": len(failed), "deployments": len(ok)}),
        time_to_restore=Metric(ttr, band("time_to_restore", ttr), "hours (median)",
                               {"restored": len(restored), "open_at_end": still_open}),
        malformed_records=records.malformed,
    )
