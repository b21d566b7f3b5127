"""Operators: pinned charts, GPU tolerations and selectors, pod identity roles, etcd rendezvous service."""

from __future__ import annotations

import json

import pytest

from components.catalog.versions import HELM_CHARTS, IMAGES, TRAINING_OPERATOR
from components.cluster_operators.dashboard import GPU_PANELS
from tests.helpers import CLUSTER, config, plan_config

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    cluster = dict(CLUSTER, operators={"prometheus": {"grafanaAdminPassword": {"secure": "v1:grafanapw"}},
                                       "kuberay": True})
    return plan_config(tmp_path_factory.mktemp("ops"), config(gpuCluster=cluster))


def _release(view, key):
    return view.get("kubernetes:helm.sh/v3:Release", f"mlplat-dev-ops-{key}")


# No Trainium group here; the Karpenter charts are tested in test_karpenter.py.
@pytest.mark.parametrize("key", sorted(set(HELM_CHARTS) - {"neuron-device-plugin", "karpenter", "karpenter-crd"}))
def test_every_chart_is_pinned_from_the_catalog(view, key):
    repo, chart, version = HELM_CHARTS[key]
    release = _release(view, key)
    assert release["inputs"]["chart"] == chart and release["inputs"]["version"] == version, release["urn"]
    assert release["inputs"]["repositoryOpts"] == {"repo": repo}
    system = view.get("aws:eks/nodeGroup:NodeGroup", "mlplat-dev-gpu-system")
    assert system["urn"] in release["dependencies"], "charts wait for nodes to schedule on"


def test_device_plugins_tolerate_gpu_taint_and_select_nodes(view):
    efa = _release(view, "efa-device-plugin")["inputs"]
    assert GPU_TOLERATION in efa["values"]["tolerations"]
    assert efa["values"]["nodeSelector"] == {"vpc.amazonaws.com/efa.present": "true"}
    assert efa["namespace"] == "kube-system"
    nvidia = _release(view, "nvidia-device-plugin")["inputs"]
    assert nvidia["values"]["tolerations"] == [GPU_TOLERATION]
    assert nvidia["values"]["nodeSelector"] == {"nvidia.com/gpu.present": "true",
                                                "mlplat.io/nvidia-device-plugin": "daemonset"}
    dcgm = _release(view, "dcgm-exporter")
    assert dcgm["inputs"]["values"]["tolerations"] == [GPU_TOLERATION]
    assert _release(view, "kube-prometheus-stack")["urn"] in dcgm["dependencies"], "ServiceMonitor CRD first"


def test_the_training_operator_ships_with_the_platform_and_nothing_is_fetched(view):
    """Its objects are registered by the program (the CRD, RBAC, webhook, Deployment at the pinned image): no
    kustomize directory or remote URL that a preview would have to fetch (kustomize #4149 refused the old one)."""
    assert [r["type"] for r in view.resources if r["type"].startswith("kubernetes:kustomize")] == []
    assert "github.com" not in view.text()
    (crd,) = view.of_type("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")
    assert crd["inputs"]["metadata"]["name"] == "pytorchjobs.kubeflow.org"
    deployment = view.get("kubernetes:apps/v1:Deployment", "mlplat-dev-ops-training-operator-deployment")
    pod = deployment["inputs"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == TRAINING_OPERATOR.image
    assert pod["containers"][0]["args"] == ["--enable-scheme=pytorchjob"]
    assert pod["nodeSelector"] == {"mlplat.io/node-group": "system"}
    (webhook,) = view.of_type("kubernetes:admissionregistration.k8s.io/v1:ValidatingWebhookConfiguration")
    service = webhook["inputs"]["webhooks"][0]["clientConfig"]["service"]
    svc = view.get("kubernetes:core/v1:Service", "mlplat-dev-ops-training-operator-svc")["inputs"]
    assert (service["name"], service["namespace"]) == (svc["metadata"]["name"], svc["metadata"]["namespace"])
    ports = {c["containerPort"] for c in pod["containers"][0]["ports"]}
    assert {p["targetPort"] for p in svc["spec"]["ports"]} == ports
    assert deployment["urn"] in webhook["dependencies"], "the webhook answers only once the operator runs"


def test_etcd_service_matches_the_jobs_rendezvous(view, tmp_path):
    service = view.get("kubernetes:core/v1:Service", "mlplat-dev-ops-etcd")
    assert service["inputs"]["metadata"]["name"] == "etcd"
    assert service["inputs"]["metadata"]["namespace"] == "training"
    assert service["inputs"]["spec"]["ports"][0]["port"] == 2379
    deployment = view.get("kubernetes:apps/v1:Deployment", "mlplat-dev-ops-etcd")
    container = deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == IMAGES["etcd"] and "--enable-v2" in container["args"]
    assert service["inputs"]["spec"]["selector"] == deployment["inputs"]["spec"]["selector"]["matchLabels"]
    job = {"name": "j", "runId": "r1", "nodeGroup": "p5", "workers": 2,
           "image": "1.dkr.ecr.us-east-1.amazonaws.com/fsdp:v1"}
    jobs_view = plan_config(tmp_path, config(gpuCluster=CLUSTER, trainingJobs=[job]))
    (pj,) = jobs_view.of_type("kubernetes:kubeflow.org/v1:PyTorchJob")
    elastic = pj["inputs"]["spec"]["elasticPolicy"]
    assert (elastic["rdzvHost"], elastic["rdzvPort"]) == ("etcd", 2379)
    assert pj["inputs"]["metadata"]["namespace"] == service["inputs"]["metadata"]["namespace"]


def test_grafana_password_is_secret_and_dashboard_has_dcgm_panels(view):
    values = _release(view, "kube-prometheus-stack")["inputs"]["values"]
    assert values["grafana"]["adminPassword"] == "[secret]"
    assert values["grafana"]["sidecar"]["dashboards"]["label"] == "grafana_dashboard"
    cm = view.get("kubernetes:core/v1:ConfigMap", "mlplat-dev-ops-gpu-dashboard")
    assert cm["inputs"]["metadata"]["labels"] == {"grafana_dashboard": "1"}
    dashboard = json.loads(cm["inputs"]["data"]["gpu-dcgm.json"])
    exprs = " ".join(p["targets"][0]["expr"] for p in dashboard["panels"])
    for metric, _, _ in GPU_PANELS:
        assert metric in exprs
    assert "grafanapw" not in view.text()


def test_addons_use_pod_identity_with_scoped_trust(view):
    addons = {a["inputs"]["addonName"]: a for a in view.of_type("aws:eks/addon:Addon")}
    cluster = view.get("aws:eks/cluster:Cluster", "mlplat-dev-gpu-cluster")
    for addon, role_name, sa in (("amazon-cloudwatch-observability", "cloudwatch", "cloudwatch-agent"),
                                 ("aws-ebs-csi-driver", "ebs-csi", "ebs-csi-controller-sa")):
        role = view.get("aws:iam/role:Role", f"mlplat-dev-ops-{role_name}")
        assert addons[addon]["inputs"]["podIdentityAssociations"] == [
            {"roleArn": role["outputs"]["arn"], "serviceAccount": sa}]
        trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert trust["Condition"]["ArnEquals"]["aws:SourceArn"] == cluster["outputs"]["arn"]
    config_values = json.loads(addons["amazon-cloudwatch-observability"]["inputs"]["configurationValues"])
    k8s_metrics = config_values["agent"]["config"]["logs"]["metrics_collected"]["kubernetes"]
    # dcgm-exporter is the default GPU metrics collector: the add-on must not start a second DCGM host engine.
    assert k8s_metrics["accelerated_compute_metrics"] is False
    assert _release(view, "dcgm-exporter")
    ebs_kms = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-ops-ebs-csi")["inputs"]["policy"])
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")
    assert {s["Resource"] for s in ebs_kms["Statement"]} == {key["outputs"]["arn"]}


def test_autoscaler_discovers_cluster_and_fsx_node_plugin_tolerates_all(view):
    values = _release(view, "cluster-autoscaler")["inputs"]["values"]
    assert values["autoDiscovery"] == {"clusterName": "mlplat-dev-gpu"}
    version = view.of_type("aws:eks/cluster:Cluster")[0]["inputs"]["version"]
    assert values["image"]["tag"].startswith(f"v{version}."), "cluster-autoscaler's minor follows Kubernetes'"
    assoc = view.get("aws:eks/podIdentityAssociation:PodIdentityAssociation", "mlplat-dev-ops-cluster-autoscaler")
    assert (assoc["inputs"]["namespace"], assoc["inputs"]["serviceAccount"]) == ("kube-system", "cluster-autoscaler")
    assert values["rbac"]["serviceAccount"]["name"] == "cluster-autoscaler"
    fsx = _release(view, "fsx-csi-driver")["inputs"]["values"]
    assert fsx["node"]["tolerations"] == [{"operator": "Exists"}]
    policy = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-ops-fsx-csi")["inputs"]["policy"])
    writes = next(s for s in policy["Statement"] if "fsx:CreateFileSystem" in s["Action"])
    assert writes["Resource"] == "arn:aws:fsx:us-east-1:123456789012:file-system/*"


def test_operators_are_switchable_and_debug_tools_off_by_default(view, tmp_path):
    assert view.of_type("kubernetes:apps/v1:DaemonSet") == []
    ops = {"gpuMetrics": "none", "fsxCsi": False, "prometheus": {"enabled": False}, "debugTools": True}
    small = plan_config(tmp_path, config(gpuCluster=dict(CLUSTER, operators=ops)))
    charts = {r["inputs"]["chart"] for r in small.of_type("kubernetes:helm.sh/v3:Release")}
    assert charts == {"nvidia-device-plugin", "aws-efa-k8s-device-plugin", "cluster-autoscaler"}
    daemonsets = small.of_type("kubernetes:apps/v1:DaemonSet")
    assert sorted(d["name"] for d in daemonsets) == ["mlplat-dev-ops-htop", "mlplat-dev-ops-nvtop"]
    assert GPU_TOLERATION in daemonsets[0]["inputs"]["spec"]["template"]["spec"]["tolerations"]


def test_k8s_resources_use_the_clusters_provider(view):
    (provider,) = view.of_type("pulumi:providers:kubernetes")
    assert provider["inputs"]["kubeconfig"] == "[secret]"
    for r in view.of_type("kubernetes:helm.sh/v3:Release"):
        assert r["provider"].startswith(provider["urn"]), r["urn"]


def test_pinned_efa_plugin_chart_schedules_on_every_efa_type_of_the_catalog():
    """The chart's node affinity lists instance types: a type missing there never gets the plugin."""
    from components.catalog.instance_types import INSTANCE_TYPES
    from components.catalog.versions import (
        EFA_DEVICE_PLUGIN_CHARTS,
        EFA_DEVICE_PLUGIN_MIN_IMAGE,
        helm_chart,
        parse_addon_version,
    )

    pinned = helm_chart("efa-device-plugin")[2]
    assert pinned in EFA_DEVICE_PLUGIN_CHARTS, f"verify chart {pinned}'s node affinity and image, then record them"
    image, listed = EFA_DEVICE_PLUGIN_CHARTS[pinned]
    efa_types = {t.name for t in INSTANCE_TYPES.values() if t.efa_supported}
    assert efa_types <= listed, sorted(efa_types - listed)
    assert parse_addon_version(image) >= EFA_DEVICE_PLUGIN_MIN_IMAGE


def _gpu_metrics_settings(view) -> tuple[bool, bool]:
    addon = next(a for a in view.of_type("aws:eks/addon:Addon")
                 if a["inputs"]["addonName"] == "amazon-cloudwatch-observability")
    values = json.loads(addon["inputs"]["configurationValues"])
    cloudwatch = values["agent"]["config"]["logs"]["metrics_collected"]["kubernetes"]["accelerated_compute_metrics"]
    exporter = any(r["name"] == "mlplat-dev-ops-dcgm-exporter" for r in view.of_type("kubernetes:helm.sh/v3:Release"))
    return cloudwatch, exporter


def test_one_gpu_metrics_collector_per_cluster(tmp_path, view):
    """Two DCGM host engines cannot share the GPU profiling module (NVIDIA/dcgm-exporter#7)."""
    assert _gpu_metrics_settings(view) == (False, True)
    cloudwatch = plan_config(tmp_path, config(gpuCluster=dict(CLUSTER, operators={"gpuMetrics": "cloudwatch"})))
    assert _gpu_metrics_settings(cloudwatch) == (True, False)


def test_trainium_groups_get_the_neuron_device_plugin_from_its_oci_chart(tmp_path):
    trn = {"name": "trn", "instanceType": "trn1.32xlarge", "availabilityZone": "us-east-1a", "maxSize": 2}
    view = plan_config(tmp_path, config(gpuCluster=dict(CLUSTER, nodeGroups=[trn])))
    registry, chart, version = HELM_CHARTS["neuron-device-plugin"]
    release = _release(view, "neuron-device-plugin")["inputs"]
    assert release["chart"] == f"{registry}/{chart}" and release["version"] == version
    assert "repositoryOpts" not in release and release["namespace"] == "kube-system"
    without = plan_config(tmp_path, config(gpuCluster=CLUSTER))
    assert not any(r["name"].endswith("neuron-device-plugin") for r in without.of_type("kubernetes:helm.sh/v3:Release"))


def test_every_dashboard_metric_is_one_the_pinned_exporter_publishes():
    import re

    from components.catalog.versions import DCGM_DEFAULT_COUNTERS, helm_chart
    from components.cluster_operators.dashboard import gpu_dashboard

    counters = DCGM_DEFAULT_COUNTERS[helm_chart("dcgm-exporter")[2]]
    model = json.loads(gpu_dashboard())
    expressions = [t["expr"] for p in model["panels"] for t in p["targets"]]
    expressions += [v["query"] for v in model["templating"]["list"] if "query" in v and "DCGM" in v["query"]]
    used = {m for e in expressions for m in re.findall(r"\bDCGM_[A-Z0-9_]+", e)}
    assert used and used <= counters, sorted(used - counters)


def test_gpu_node_health_alerts(view):
    """NotReady nodes alarm in CloudWatch (Container Insights), to a topic the key lets CloudWatch use; GPU XID
    errors alert in Prometheus, where dcgm-exporter's counter is (the CloudWatch add-on drops it)."""
    alarm = view.get("aws:cloudwatch/metricAlarm:MetricAlarm", "mlplat-dev-ops-node-not-ready")["inputs"]
    assert (alarm["namespace"], alarm["metricName"]) == ("ContainerInsights", "node_status_condition_ready")
    assert alarm["dimensions"] == {"ClusterName": view.of_type("aws:eks/cluster:Cluster")[0]["outputs"]["name"]}
    assert (alarm["statistic"], alarm["comparisonOperator"], alarm["threshold"]) == ("Minimum", "LessThanThreshold", 1)
    topic = view.get("aws:sns/topic:Topic", "mlplat-dev-ops-alerts")
    assert alarm["alarmActions"] == [topic["outputs"]["arn"]]
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")
    assert topic["inputs"]["kmsMasterKeyId"] == key["outputs"]["arn"]
    statements = {s["Sid"]: s for s in json.loads(key["inputs"]["policy"])["Statement"]}
    assert statements["CloudWatchAlarms"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    rules = _release(view, "kube-prometheus-stack")["inputs"]["values"]["additionalPrometheusRulesMap"]
    (rule,) = rules["gpu-health"]["groups"][0]["rules"]
    # The gauge holds the last XID seen: the alert fires on a change within a window and so resolves again.
    assert rule["expr"] == "max by (Hostname, gpu) (changes(DCGM_FI_DEV_XID_ERRORS[10m])) > 0"
    assert _release(view, "dcgm-exporter"), "the exporter whose counter the rule reads is deployed"
