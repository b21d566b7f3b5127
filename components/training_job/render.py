"""Renders the PyTorchJob (pure: golden-tested and checked by the policy pack).

NCCL / EFA environment: `NCCL_DEBUG`, `NCCL_SOCKET_IFNAME=^lo` (bootstrap over any interface but
loopback) and `TORCH_NCCL_ASYNC_ERROR_HANDLING=1` (fail fast on a collective error so the elastic
agent restarts the group), as in aws-do-eks `fsdp.yaml-template`. No `FI_PROVIDER=efa` /
`FI_EFA_USE_DEVICE_RDMA=1`: current aws-ofi-nccl and libfabric select EFA and GPUDirect RDMA on
their own; those variables are for old versions (awsome-distributed-training efa-cheatsheet) and
forcing RDMA breaks on types without it. EFA is used only if the pod *requests* the devices, so
requests = limits = every EFA interface of the node (from the instance catalog).
`/dev/shm` is a memory-backed emptyDir (NCCL and DataLoader workers need more than 64 MiB).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.eks_gpu_cluster.args import GpuNodeGroupArgs
from components.eks_gpu_cluster.node_config import EFA_RESOURCE
from components.training_job.args import TrainingJobArgs

HF_TOKEN_KEY = "token"


@dataclass(frozen=True)
class PretrainingPods:
    """The pods' identity (EKS Pod Identity: S3 access to the shards and the output) and the ConfigMap holding
    the continued pre-training script, mounted at /opt/mlplat."""

    service_account: str
    script_config_map: str
    #: A shared file system's claim (FSx for Lustre), mounted at /fsx: checkpoints under /fsx/checkpoints/<run>/.
    shared_claim: str | None = None


HUGEPAGES = "hugepages-2Mi"
#: The pod annotation Karpenter honours before any voluntary disruption (karpenter.sh disruption docs).
DO_NOT_DISRUPT = "karpenter.sh/do-not-disrupt"
#: What an EFA pod requests besides its devices (EKS user guide, node-efa, the NCCL test manifest).
EFA_HUGEPAGES = {HUGEPAGES: "5120Mi", "memory": "32000Mi"}

SCRIPT_DIR = "/opt/mlplat"
SHARED_DIR = "/fsx"
SCRIPT = "continued_pretraining.py"
DATA_DIR = "/data"


def _nnodes(job: TrainingJobArgs) -> str:
    """`--nnodes` for a fixed-size job. An elastic one (minReplicas != maxReplicas) passes none: the training
    operator sets PET_NNODES=<min>:<max> (training-operator v1.7.0 `elastic.go`), which torchrun reads when the
    flag is absent and an explicit `--nnodes=<workers>` would override, pinning the job to one size."""
    lo, hi = job.elastic.min_replicas or job.workers, job.elastic.max_replicas or job.workers
    return "" if lo != hi else f"--nnodes={job.workers} "


def default_command(job: TrainingJobArgs, gpus: int, checkpoints: bool = False) -> list[str]:
    """`checkpoints`: a shared file system is mounted; the script checkpoints to it and resumes from it."""
    if job.objective == "continued-pretraining":
        return [
            "bash", "-c",
            f"torchrun --nproc_per_node={gpus} {_nnodes(job)}{SCRIPT_DIR}/{SCRIPT} "
            f"--model {job.model} --tokens {job.token_shards_uri} --output {job.output_uri}{job.run_name}/ "
            f"--epochs {job.num_epochs} --batch-size {job.batch_size} --lr {job.learning_rate:g}"
            + (f" --checkpoint-dir {SHARED_DIR}/checkpoints/{job.run_name}/" if checkpoints else ""),
        ]
    return [
        "bash", "-c",
        f"torchrun --nproc_per_node={gpus} {_nnodes(job)}examples/finetuning.py "
        f"--num_epochs={job.num_epochs} --batch_size_training={job.batch_size} --enable_fsdp "
        f"--model_name {job.model} --output_dir .",
    ]


def render_pytorchjob(
    job: TrainingJobArgs,
    group: GpuNodeGroupArgs,
    *,
    namespace: str,
    etcd_host: str,
    etcd_port: int,
    hf_secret_name: str | None = None,
    pretraining: PretrainingPods | None = None,
) -> dict[str, Any]:
    """`pretraining`: the service account and script ConfigMap of a continued pre-training job."""
    service_account = pretraining.service_account if pretraining else None
    script_config_map = pretraining.script_config_map if pretraining else None
    facts = group.facts
    devices: dict[str, int] = {}
    if facts.gpu_resource:
        devices[facts.gpu_resource] = facts.accelerators
    if group.efa_enabled:
        devices[EFA_RESOURCE] = facts.max_efa_interfaces
    quantities = {k: str(v) for k, v in devices.items()}
    requests, limits = dict(quantities), dict(quantities)
    if group.efa_enabled:
        # EFA needs huge pages as a Kubernetes resource (EKS user guide, node-efa: instances with the EFA driver
        # pre-allocate 5128 2 MiB pages; its NCCL example requests hugepages-2Mi: 5120Mi). Kubernetes wants huge
        # pages requested equal to their limit and alongside cpu or memory: memory is requested as in that example,
        # without a limit, so the training process is not capped at it.
        requests.update(EFA_HUGEPAGES)
        limits[HUGEPAGES] = EFA_HUGEPAGES[HUGEPAGES]
    env = [
        {"name": "LOGLEVEL", "value": "INFO"},
        {"name": "NCCL_DEBUG", "value": job.nccl_debug},
        {"name": "NCCL_SOCKET_IFNAME", "value": "^lo"},
        {"name": "TORCH_NCCL_ASYNC_ERROR_HANDLING", "value": "1"},
    ]
    if hf_secret_name:
        ref = {"secretKeyRef": {"name": hf_secret_name, "key": HF_TOKEN_KEY}}
        env += [{"name": "HF_TOKEN", "valueFrom": ref}, {"name": "HUGGING_FACE_HUB_TOKEN", "valueFrom": ref}]
    elastic: dict[str, Any] = {
        "rdzvBackend": job.rendezvous,
        "minReplicas": job.elastic.min_replicas or job.workers,
        "maxReplicas": job.elastic.max_replicas or job.workers,
        "maxRestarts": job.elastic.max_restarts,
    }
    if job.rendezvous == "etcd":
        # A rendezvous id per job and run: torchrun's default (`none`) is shared by every job on the etcd
        # server, and a closed rendezvous is kept for 2 hours (torch.distributed.elastic etcd backend,
        # CONST_RUNID_SUBROOT_TTL), so a rerun or a second job with the default id fails to join.
        elastic.update({"rdzvHost": etcd_host, "rdzvPort": etcd_port, "rdzvId": job.run_name})
    toleration_key = facts.gpu_resource or "nvidia.com/gpu"
    volumes: list[dict[str, Any]] = [{"name": "shmem", "emptyDir": {"medium": "Memory"}}]
    mounts: list[dict[str, Any]] = [{"name": "shmem", "mountPath": "/dev/shm"}]
    if script_config_map:
        # The shards land on the node's disk (emptyDir), the script comes read-only from its ConfigMap.
        volumes += [{"name": "script", "configMap": {"name": script_config_map}},
                    {"name": "data", "emptyDir": {}}]
        mounts += [{"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True},
                   {"name": "data", "mountPath": DATA_DIR}]
    shared = pretraining.shared_claim if pretraining else None
    if shared:
        volumes.append({"name": "shared", "persistentVolumeClaim": {"claimName": shared}})
        mounts.append({"name": "shared", "mountPath": SHARED_DIR})
    pod_spec: dict[str, Any] = {
        "nodeSelector": {
            "node.kubernetes.io/instance-type": group.instance_type,
            "mlplat.io/node-group": group.name,
        },
        "tolerations": [{"key": toleration_key, "operator": "Exists", "effect": "NoSchedule"}],
        "volumes": volumes,
        "containers": [
            {
                "name": "pytorch",
                "image": job.image,
                "imagePullPolicy": "IfNotPresent",
                "command": job.command or default_command(job, facts.accelerators, checkpoints=bool(shared)),
                "env": env,
                "resources": {"requests": requests, "limits": limits},
                "volumeMounts": mounts,
            }
        ],
    }
    if service_account:
        pod_spec["serviceAccountName"] = service_account
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": job.run_name, "namespace": namespace,
                     "labels": {"app.kubernetes.io/name": job.name, "app.kubernetes.io/instance": job.run_name,
                                "app.kubernetes.io/part-of": "ml-platform"}},
        "spec": {
            # A job that keeps failing ends and frees its nodes (training-operator fails a job only past a set
            # backoffLimit or deadline: pkg/controller.v1/common/job.go).
            "runPolicy": {"backoffLimit": job.backoff_limit, "activeDeadlineSeconds": job.active_deadline_seconds},
            "elasticPolicy": elastic,
            "pytorchReplicaSpecs": {
                "Worker": {
                    "replicas": job.workers,
                    "restartPolicy": "OnFailure",
                    # Karpenter never disrupts (drift, expiry, consolidation) a node running a pod marked
                    # do-not-disrupt: replacing one node of a distributed run kills the whole run.
                    "template": {"metadata": {"labels": {"app.kubernetes.io/name": job.name},
                                              "annotations": {DO_NOT_DISRUPT: "true"}}, "spec": pod_spec},
                }
            },
        },
    }
