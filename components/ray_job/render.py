"""Renders the RayJob (pure). Fields as in KubeRay's RayJob CRD (ray.io/v1; ray-project/kuberay
ray-operator/config/crd/bases/ray.io_rayjobs.yaml and apis/ray/v1/rayjob_types.go, tag v1.4.2):

- `shutdownAfterJobFinishes` + `ttlSecondsAfterFinished`: the Ray cluster goes away after the job (a TTL > 0 is
  only valid with shutdownAfterJobFinishes, as the operator's validation requires);
- `backoffLimit: 0`: a failed curation is not retried on a new cluster (each retry starts from scratch);
- `activeDeadlineSeconds`: a hung job fails instead of holding nodes;
- the head gets `num-cpus: "0"`: it runs the driver (the stage orchestration) and no tasks.
"""

from __future__ import annotations

import shlex
from typing import Any

from components.eks_gpu_cluster.args import GpuNodeGroupArgs
from components.ray_job.args import CurationRayJobArgs

CONFIG_DIR = "/etc/mlplat"
DOMAIN_FILE = "domain.yaml"


def entrypoint(job: CurationRayJobArgs) -> str:
    command = ["mlplat", "corpus", "curate", "--input", job.input_uri, "--output", f"{job.output_uri}{job.run_name}/",
               "--domain-config", f"{CONFIG_DIR}/{DOMAIN_FILE}", "--executor", "ray",
               "--workers", str(job.workers * job.worker_cpu), "--max-tokens", str(job.max_tokens)]
    if job.tokenizer_uri:
        command += ["--tokenizer", job.tokenizer_uri]
    if job.select != "none":
        command += ["--select", job.select, "--keep-fraction", f"{job.keep_fraction:g}"]
    # The driver runs on the head pod, where KubeRay started `ray start --head`: RAY_ADDRESS=auto attaches to
    # that cluster instead of starting a local one (ray.init checks RAY_ADDRESS first; docs.ray.io "Starting Ray").
    return "env RAY_ADDRESS=auto " + shlex.join(command)


def _container(name: str, job: CurationRayJobArgs, cpu: str, memory: str) -> dict[str, Any]:
    return {"name": name, "image": job.image, "imagePullPolicy": "IfNotPresent",
            "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
            "volumeMounts": [{"name": "domain", "mountPath": CONFIG_DIR, "readOnly": True}]}


def render_rayjob(job: CurationRayJobArgs, group: GpuNodeGroupArgs | None, *, namespace: str,
                  service_account: str, config_map: str) -> dict[str, Any]:
    volumes = [{"name": "domain", "configMap": {"name": config_map}}]
    worker_spec: dict[str, Any] = {"serviceAccountName": service_account, "volumes": volumes,
                                   "containers": [_container("ray-worker", job, str(job.worker_cpu),
                                                             job.worker_memory)]}
    if group is not None:
        worker_spec["nodeSelector"] = {"node.kubernetes.io/instance-type": group.instance_type,
                                       "mlplat.io/node-group": group.name}
        worker_spec["tolerations"] = [{"key": group.facts.gpu_resource or "nvidia.com/gpu", "operator": "Exists",
                                       "effect": "NoSchedule"}]
    labels = {"app.kubernetes.io/name": job.name, "app.kubernetes.io/instance": job.run_name,
              "app.kubernetes.io/part-of": "ml-platform"}
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": job.run_name, "namespace": namespace, "labels": labels},
        "spec": {
            "entrypoint": entrypoint(job),
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": 3600,
            "activeDeadlineSeconds": job.active_deadline_seconds,
            "backoffLimit": 0,
            "submissionMode": "K8sJobMode",
            "rayClusterSpec": {
                "rayVersion": job.ray_version,
                "headGroupSpec": {
                    "rayStartParams": {"num-cpus": "0"},
                    "template": {"metadata": {"labels": labels}, "spec": {
                        "serviceAccountName": service_account, "volumes": volumes,
                        "containers": [_container("ray-head", job, "1", "4Gi")]}},
                },
                "workerGroupSpecs": [{
                    "groupName": "curate",
                    "replicas": job.workers, "minReplicas": job.workers, "maxReplicas": job.workers,
                    "rayStartParams": {},
                    "template": {"metadata": {"labels": labels}, "spec": worker_spec},
                }],
            },
        },
    }
