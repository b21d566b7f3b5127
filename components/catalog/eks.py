"""EKS facts used by the cluster component and checked by the policy pack.

Control-plane log types: the five types EKS can send to CloudWatch Logs (EKS user guide, "Send
control plane logs to CloudWatch Logs"; `aws eks update-cluster-config --logging`).

The Kubernetes version calendar: EKS gives each version 14 months of standard support, then 12 months of
extended support at $0.60 instead of $0.10 per cluster hour (EKS user guide, "Understand the Kubernetes version
lifecycle on EKS", kubernetes-versions; the AWS containers blog "Amazon EKS extended support for Kubernetes
versions pricing"). Dates as that page lists them (checked 2026-12-04; 1.35 also on endoflife.date/amazon-eks;
"Kubernetes 1.36 is now available in Amazon EKS", kubernetes-versions-standard). EKS has not released 1.37.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

CONTROL_PLANE_LOG_TYPES: tuple[str, ...] = ("api", "audit", "authenticator", "controllerManager", "scheduler")

#: 2 MiB huge pages an EFA node has at boot: "Amazon EC2 instances with the EFA driver installed pre-allocate 5128
#: 2MiB Huge Pages, which you can request as resources" (EKS user guide, node-efa; checked 2026-12-07). The
#: EKS-optimized AL2023 AMIs install the EFA driver (awslabs/amazon-eks-ami v20260724,
#: templates/al2023/provisioners/install-efa.sh: efa_installer.sh --minimal). The kubelet reports only preallocated
#: pages (cAdvisor reads nr_hugepages), and neither autoscaler knows them from zero: cluster-autoscaler 1.36.1
#: builds its template from the instance type and the ASG's resource tags only, Karpenter 1.14.1's capacity has no
#: huge pages unless a NodeOverlay adds them. libfabric's EFA provider uses huge pages when it can and falls back to
#: regular pages when mmap(MAP_HUGETLB) fails (prov/util/src/util_buf.c, v2.6.0).
EFA_HUGEPAGES_2MI = 5128
EFA_HUGEPAGES_QUANTITY = f"{EFA_HUGEPAGES_2MI * 2}Mi"


@dataclass(frozen=True)
class SupportWindow:
    released: dt.date
    end_of_standard: dt.date
    end_of_extended: dt.date

    def status(self, today: dt.date) -> str:
        """`standard`, `extended` or `ended` on `today`."""
        if today <= self.end_of_standard:
            return "standard"
        return "extended" if today <= self.end_of_extended else "ended"


KUBERNETES_CALENDAR: dict[str, SupportWindow] = {
    "1.33": SupportWindow(dt.date(2025, 5, 29), dt.date(2026, 7, 29), dt.date(2027, 7, 29)),
    "1.34": SupportWindow(dt.date(2025, 10, 2), dt.date(2026, 12, 2), dt.date(2027, 12, 2)),
    "1.35": SupportWindow(dt.date(2026, 1, 27), dt.date(2027, 3, 27), dt.date(2028, 3, 27)),
    "1.36": SupportWindow(dt.date(2026, 6, 2), dt.date(2027, 8, 2), dt.date(2028, 8, 2)),
}
#: A version that leaves standard support within this many days gets a warning in the plan.
SUPPORT_WARNING_DAYS = 90


def today() -> dt.date:
    """The day the support calendar is read on: the control plane's price and the support warning (a function, so
    tests plan on a fixed day and a support window ending cannot turn them red)."""
    return dt.date.today()


def support_note(version: str, today: dt.date) -> str | None:
    """A warning for a version past standard support or leaving it within SUPPORT_WARNING_DAYS, else None."""
    window = KUBERNETES_CALENDAR.get(version)
    if window is None:
        return None
    status = window.status(today)
    if status != "standard":
        return (f"Kubernetes {version} left standard support on {window.end_of_standard}: the control plane is "
                f"billed at extended-support rates ($0.60/h instead of $0.10) until {window.end_of_extended}; "
                "upgrade one minor version at a time")
    days = (window.end_of_standard - today).days
    if days <= SUPPORT_WARNING_DAYS:
        return (f"Kubernetes {version} leaves standard support on {window.end_of_standard} (in {days} days): "
                "plan the upgrade, or the control plane moves to extended support ($0.60/h) or, with "
                "upgradePolicy STANDARD, is upgraded by EKS")
    return None
