"""The Kubeflow Training Operator as objects the program creates: nothing is fetched at deploy time.

Built after the operator's `manifests/overlays/standalone` at the pinned tag (catalog/versions.py TRAINING_OPERATOR;
read from the rendered overlay of kubeflow/trainer v1.9.4, commit 4445c12a), for the one kind the platform runs:
- the PyTorchJob CRD, generated from the operator's SDK of the same version (data/pytorchjob_crd.json);
- Namespace `kubeflow`, ServiceAccount, ClusterRole and ClusterRoleBinding `training-operator`: upstream's rules for
  the core objects a job needs and for `pytorchjobs` (the other five kinds, MPI's and the gang schedulers' rules
  are left out: the operator runs with `--enable-scheme=pytorchjob`);
- the webhook Secret the operator fills with its own CA and certificate (cert-controller), the Service (metrics
  8080, webhook 443 -> 9443), the Deployment, and the ValidatingWebhookConfiguration for PyTorchJobs (upstream's
  failurePolicy Fail: a PyTorchJob is admitted only once the operator validates it).

How to refresh for a new release: render `kustomize build manifests/overlays/standalone` at the new tag, compare
its Deployment, Service, RBAC and webhook objects with the ones below, update TRAINING_OPERATOR (version, commit,
image), install the SDK of that version and run `scripts/generate_pytorchjob_crd.py --write`.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.catalog.data import load
from components.catalog.versions import TRAINING_OPERATOR

NAMESPACE = "kubeflow"
NAME = "training-operator"
LABELS = {"control-plane": "kubeflow-training-operator"}
CERT_SECRET = "training-operator-webhook-cert"
WEBHOOK_CONFIG = "validator.training-operator.kubeflow.org"
ALL_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]

#: Upstream's ClusterRole rules (manifests/base/rbac/role.yaml at the tag) that a PyTorchJob-only operator uses.
RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "list", "update", "watch"]},
    {"apiGroups": [""], "resources": ["events"], "verbs": ALL_VERBS},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ALL_VERBS},
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "update", "watch"]},
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["create", "get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["services"], "verbs": ["create", "delete", "get", "list", "watch"]},
    {"apiGroups": ["admissionregistration.k8s.io"], "resources": ["validatingwebhookconfigurations"],
     "verbs": ["get", "list", "update", "watch"]},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ALL_VERBS},
    {"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs"], "verbs": ALL_VERBS},
    {"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs/finalizers"], "verbs": ["update"]},
    {"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs/status"], "verbs": ["get", "patch", "update"]},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"],
     "verbs": ["create", "list", "update", "watch"]},
    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"],
     "verbs": ["create", "list", "update", "watch"]},
]


def crd_manifest() -> dict[str, Any]:
    """The generated PyTorchJob CRD (components/catalog/data/pytorchjob_crd.json)."""
    return load("pytorchjob_crd")


def deployment_spec(node_selector: dict[str, str]) -> dict[str, Any]:
    """Upstream's Deployment (manifests/base/deployment.yaml), PyTorchJob only, on the system nodes."""
    field = lambda path: {"valueFrom": {"fieldRef": {"fieldPath": path}}}  # noqa: E731
    container = {
        "name": NAME, "image": TRAINING_OPERATOR.image, "command": ["/manager"],
        "args": ["--enable-scheme=pytorchjob"],
        "env": [{"name": "MY_POD_NAMESPACE", **field("metadata.namespace")},
                {"name": "MY_POD_NAME", **field("metadata.name")}],
        "ports": [{"containerPort": 8080}, {"containerPort": 9443, "name": "webhook-server", "protocol": "TCP"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8081}, "initialDelaySeconds": 15,
                          "periodSeconds": 20, "timeoutSeconds": 3},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8081}, "initialDelaySeconds": 10,
                           "periodSeconds": 15, "timeoutSeconds": 3},
        # The requests the system-node sizing counts (catalog/system_pods.py: training-operator).
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False},
        "volumeMounts": [{"mountPath": "/tmp/k8s-webhook-server/serving-certs", "name": "cert", "readOnly": True}],
    }
    return {
        "replicas": 1, "selector": {"matchLabels": LABELS},
        "template": {
            "metadata": {"labels": LABELS, "annotations": {"sidecar.istio.io/inject": "false"}},
            "spec": {"serviceAccountName": NAME, "terminationGracePeriodSeconds": 10, "containers": [container],
                     "nodeSelector": node_selector,
                     "volumes": [{"name": "cert", "secret": {"defaultMode": 420, "secretName": CERT_SECRET}}]},
        },
    }


def webhook_configuration() -> dict[str, Any]:
    return {
        "metadata": {"name": WEBHOOK_CONFIG, "labels": LABELS},
        "webhooks": [{
            "name": "validator.pytorchjob.training-operator.kubeflow.org", "admissionReviewVersions": ["v1"],
            "clientConfig": {"service": {"name": NAME, "namespace": NAMESPACE,
                                         "path": "/validate-kubeflow-org-v1-pytorchjob"}},
            "failurePolicy": "Fail", "sideEffects": "None",
            "rules": [{"apiGroups": ["kubeflow.org"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                       "resources": ["pytorchjobs"]}],
        }],
    }


class TrainingOperator(pulumi.ComponentResource):
    """The operator's objects; depend on this component to create PyTorchJobs after the operator is ready."""

    def __init__(self, name: str, *, node_selector: dict[str, str], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplat:cluster_operators:TrainingOperator", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        meta = lambda n, ns=NAMESPACE: {"name": n, "namespace": ns, "labels": {"app": NAME}}  # noqa: E731
        crd_doc = crd_manifest()
        crd = k8s.apiextensions.v1.CustomResourceDefinition(
            f"{name}-crd", metadata=crd_doc["metadata"], spec=crd_doc["spec"], opts=child)
        ns = k8s.core.v1.Namespace(f"{name}-ns", metadata={"name": NAMESPACE}, opts=child)
        in_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        account = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata=meta(NAME), opts=in_ns)
        role = k8s.rbac.v1.ClusterRole(f"{name}-role", metadata={"name": NAME}, rules=RULES, opts=child)
        binding = k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-binding", metadata={"name": NAME},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
            subjects=[{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, account]))
        # Empty: the operator writes its CA and serving certificate here at start (upstream's secretGenerator).
        cert = k8s.core.v1.Secret(f"{name}-cert", metadata={"name": CERT_SECRET, "namespace": NAMESPACE},
                                  type="Opaque", opts=in_ns)
        service = k8s.core.v1.Service(
            f"{name}-svc",
            metadata={**meta(NAME), "annotations": {"prometheus.io/path": "/metrics", "prometheus.io/port": "8080",
                                                    "prometheus.io/scrape": "true"}},
            spec={"type": "ClusterIP", "selector": LABELS,
                  "ports": [{"name": "monitoring-port", "port": 8080, "targetPort": 8080},
                            {"name": "webhook-server", "port": 443, "protocol": "TCP", "targetPort": 9443}]},
            opts=in_ns)
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment", metadata={"name": NAME, "namespace": NAMESPACE, "labels": LABELS},
            spec=deployment_spec(node_selector),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[crd, binding, cert, service]))
        webhook = k8s.admissionregistration.v1.ValidatingWebhookConfiguration(
            f"{name}-webhook", **webhook_configuration(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment]))
        self.ready: list[pulumi.Resource] = [crd, deployment, webhook]
        self.register_outputs({"namespace": NAMESPACE, "version": TRAINING_OPERATOR.version})
