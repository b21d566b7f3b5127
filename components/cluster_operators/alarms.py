"""Alerts on GPU node health.

- CloudWatch: nodes that are NotReady. Container Insights (the amazon-cloudwatch-observability add-on) publishes
  `node_status_condition_ready` per node and per cluster (`ContainerInsights`, dimension ClusterName); its minimum
  over a minute is 0 as soon as one node is NotReady. The alarm notifies an SNS topic encrypted with the environment
  key (whose policy lets CloudWatch use it).
- Prometheus: GPU XID errors. dcgm-exporter exports `DCGM_FI_DEV_XID_ERRORS` (the last XID seen); the CloudWatch
  add-on's DCGM pipeline drops that counter, so XID is alerted where it is collected, as a kube-prometheus-stack
  rule (Alertmanager routes it). The EKS node monitoring agent also turns XIDs into the AcceleratedHardwareReady
  condition, which node auto repair acts on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.context import Env

XID_RULES: dict[str, Any] = {"groups": [{"name": "gpu-health", "rules": [{
    "alert": "GpuXidError",
    # DCGM_FI_DEV_XID_ERRORS is a gauge holding the *last* XID seen (dcgm-exporter etc/default-counters.csv: "Value
    # of the last XID error encountered"), so `> 0` would fire forever after one error. Alert on a change within a
    # window instead: it resolves once 10 minutes pass without a new XID. (The same XID repeating does not change the
    # gauge; dcgm-exporter's DCGM_EXP_XID_ERRORS_COUNT counter would see it but is off in the default counters.)
    "expr": "max by (Hostname, gpu) (changes(DCGM_FI_DEV_XID_ERRORS[10m])) > 0",
    "labels": {"severity": "critical"},
    "annotations": {"summary": "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported a new XID in the last "
                               "10 minutes",
                    "description": "An XID is a GPU driver error (NVIDIA XID catalog): check the node; node auto "
                                   "repair replaces it if the fault persists."},
}]}]}


def node_alarms(name: str, cluster_name: pulumi.Input[str], *, env: Env, emails: Sequence[str],
                parent: pulumi.Resource) -> aws.sns.Topic:
    """The alert topic (and its email subscriptions) and the NotReady alarm; returns the topic."""
    child = pulumi.ResourceOptions(parent=parent)
    topic = aws.sns.Topic(f"{name}-alerts", kms_master_key_id=env.key_arn, opts=child)
    for i, email in enumerate(emails):
        aws.sns.TopicSubscription(f"{name}-alerts-{i}", topic=topic.arn, protocol="email", endpoint=email, opts=child)
    aws.cloudwatch.MetricAlarm(
        f"{name}-node-not-ready",
        alarm_description="A node of the GPU cluster is NotReady (Container Insights node_status_condition_ready)",
        namespace="ContainerInsights", metric_name="node_status_condition_ready",
        dimensions={"ClusterName": cluster_name}, statistic="Minimum", period=60, evaluation_periods=5,
        datapoints_to_alarm=3, threshold=1, comparison_operator="LessThanThreshold",
        treat_missing_data="notBreaching", alarm_actions=[topic.arn], ok_actions=[topic.arn], opts=child)
    return topic
