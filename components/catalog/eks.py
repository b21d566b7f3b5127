"""EKS facts used by the cluster component and checked by the policy pack.

Control-plane log types: the five types EKS can send to CloudWatch Logs (EKS user guide, "Send
control plane logs to CloudWatch Logs"; `aws eks update-cluster-config --logging`).
"""

from __future__ import annotations

CONTROL_PLANE_LOG_TYPES: tuple[str, ...] = ("api", "audit", "authenticator", "controllerManager", "scheduler")
