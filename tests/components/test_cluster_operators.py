"""Operators: pinned charts, GPU tolerations and selectors, pod identity roles, etcd rendezvous service."""

from __future__ import annotations

import json

import pytest

from components.catalog.versions import HELM_CHARTS, IMAGES
from components.cluster_operators.dashboard import GPU_PANELS
from tests.helpers import CLUSTER, config, plan_config

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    cluster = dict(CLUSTER, operators={"prometheus": {"grafanaAdminPassword": {"secure": "v1:grafanapw"}}})
    return plan_config(tmp_path_factory.mktemp("ops"), config(gpuCluster=cluster))


def _release(view, key):
    return view.get("kubernetes:helm.sh/v3:Release", f"mlplat-dev-ops-{key}")


@pytest.mark.parametrize("key", sorted(HELM_CHARTS))
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
    assert nvidia["values"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    dcgm = _release(view, "dcgm-exporter")
    assert dcgm["inputs"]["values"]["tolerations"] == [GPU_TOLERATION]
    assert _release(view, "kube-prometheus-stack")["urn"] in dcgm["dependencies"], "ServiceMonitor CRD first"


def test_training_operator_standalone_overlay_pinned(view):
    (directory,) = view.of_type("kubernetes:kustomize/v2:Directory")
    assert directory["inputs"]["directory"] == (
        "https://github.com/kubeflow/training-operator/tree/v1.7.0/manifests/overlays/standalone")


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
    assert k8s_metrics["accelerated_compute_metrics"] is True
    ebs_kms = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-ops-ebs-csi")["inputs"]["policy"])
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")
    assert {s["Resource"] for s in ebs_kms["Statement"]} == {key["outputs"]["arn"]}


def test_autoscaler_discovers_cluster_and_fsx_node_plugin_tolerates_all(view):
    values = _release(view, "cluster-autoscaler")["inputs"]["values"]
    assert values["autoDiscovery"] == {"clusterName": "mlplat-dev-gpu"}
    assert values["image"]["tag"] == "v1.33.0"
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
    ops = {"dcgmExporter": False, "fsxCsi": False, "prometheus": {"enabled": False}, "debugTools": True}
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
