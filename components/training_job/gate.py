"""Start a training job only once the curation that writes its input has succeeded, without holding a GPU.

The PyTorchJob is created suspended (`runPolicy.suspend: true`, training-operator v1.7+: a suspended job has no
pods, so cluster-autoscaler brings up no GPU node). A small Job on the system nodes waits for the RayJob's
`status.jobStatus` to reach SUCCEEDED (`kubectl wait`), then un-suspends the PyTorchJob (`kubectl patch`). A
curation that fails or overruns never starts the training: the gate times out with the RayJob's deadline. The
wait costs nothing extra: the system nodes run anyway.

pulumi-kubernetes awaits a `batch/v1` Job until it completes, 10 minutes by default (`await` package: Job
readiness); the gate runs as long as the curation, so it carries `pulumi.com/skipAwait: "true"` and `pulumi up`
returns once it is created. It is created after the RayJob, and first waits for the RayJob to exist
(`kubectl wait --for=create`, kubectl >= 1.31), so a RayJob created a moment later never makes it exit NotFound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from components.catalog.versions import IMAGES

KUBECTL = "/bin/kubectl"  # registry.k8s.io/kubectl is distroless: no shell, the binary only
UNSUSPEND = json.dumps({"spec": {"runPolicy": {"suspend": False}}})


@dataclass(frozen=True)
class Upstream:
    """The RayJob whose output a training job reads: its name, how long it may run, and (in a stack that creates it)
    the component that creates it, which the gate is created after."""

    rayjob: str
    deadline_seconds: int
    resource: Any = None


@dataclass(frozen=True)
class JobLinks:
    """What else in the stack a training job uses: the RayJob writing its input (the job then waits for it), and
    the shared file system's claim (mounted at /fsx: checkpoints and resume)."""

    upstream: Upstream | None = None
    shared_claim: str | None = None


def gate_name(job: str) -> str:
    return f"{job}-gate"


def render_role(job: str, namespace: str, upstream: Upstream) -> dict[str, Any]:
    """What the gate may do: watch that RayJob, read and patch that PyTorchJob, nothing else."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": gate_name(job), "namespace": namespace},
        "rules": [
            {"apiGroups": ["ray.io"], "resources": ["rayjobs"], "resourceNames": [upstream.rayjob],
             "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs"], "resourceNames": [job],
             "verbs": ["get", "patch"]},
        ],
    }


def render_gate_job(job: str, namespace: str, upstream: Upstream) -> dict[str, Any]:
    small = {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}
    image = IMAGES["kubectl"]
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": gate_name(job), "namespace": namespace,
                     "labels": {"app.kubernetes.io/part-of": "ml-platform", "mlplat.io/gates": job},
                     # Not awaited to completion by pulumi-kubernetes (it would fail `pulumi up` after 10 minutes).
                     "annotations": {"pulumi.com/skipAwait": "true"}},
        "spec": {
            "backoffLimit": 3,
            "activeDeadlineSeconds": upstream.deadline_seconds + 600,
            "template": {"spec": {
                "serviceAccountName": gate_name(job),
                "restartPolicy": "OnFailure",
                "nodeSelector": {"mlplat.io/node-group": "system"},
                "initContainers": [{
                    "name": "wait-for-rayjob", "image": image, "resources": small,
                    "command": [KUBECTL, "wait", f"rayjob/{upstream.rayjob}", "-n", namespace, "--for=create",
                                f"--timeout={upstream.deadline_seconds}s"]}, {
                    "name": "wait-for-curation", "image": image, "resources": small,
                    "command": [KUBECTL, "wait", f"rayjob/{upstream.rayjob}", "-n", namespace,
                                "--for=jsonpath={.status.jobStatus}=SUCCEEDED",
                                f"--timeout={upstream.deadline_seconds}s"]}],
                "containers": [{
                    "name": "start-training", "image": image, "resources": small,
                    "command": [KUBECTL, "patch", f"pytorchjob/{job}", "-n", namespace, "--type=merge",
                                "-p", UNSUSPEND]}],
            }},
        },
    }
