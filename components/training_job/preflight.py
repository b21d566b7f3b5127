"""An NCCL all-reduce preflight per EFA node group, ready to run before a long job.

A PyTorchJob `nccl-<group>-preflight` on two whole nodes of the group (all GPUs and EFA devices, huge pages), its
script (`scripts/nccl_preflight.py`) in a ConfigMap. It is created suspended: it costs nothing until you start it
(`kubectl patch pytorchjob nccl-<group>-preflight -n <namespace> --type=merge -p
'{"spec":{"runPolicy":{"suspend":false}}}'`), and its logs give the bus bandwidth per message size.
"""

from __future__ import annotations

from importlib import resources

import pulumi
import pulumi_kubernetes as k8s

from components.cluster_operators.component import ClusterOperators
from components.context import Env
from components.eks_gpu_cluster.args import GpuNodeGroupArgs
from components.training_job.args import TrainingJobArgs
from components.training_job.render import SCRIPT_DIR, PretrainingPods, render_pytorchjob

PREFLIGHT_SCRIPT = "nccl_preflight.py"


def preflight_job(group: GpuNodeGroupArgs) -> TrainingJobArgs:
    workers = min(2, group.max_size)
    gpus = group.facts.accelerators
    assert group.preflight_image is not None
    return TrainingJobArgs(
        name=f"nccl-{group.name}"[:40].rstrip("-"), run_id="preflight", node_group=group.name, workers=workers,
        image=group.preflight_image, rendezvous="c10d", backoff_limit=1, active_deadline_seconds=3600,
        command=["bash", "-c", f"torchrun --nproc_per_node={gpus} --nnodes={workers} {SCRIPT_DIR}/{PREFLIGHT_SCRIPT}"])


class NcclPreflight(pulumi.ComponentResource):
    job_name: str

    def __init__(self, name: str, group: GpuNodeGroupArgs, *, env: Env, operators: ClusterOperators,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplat:training_job:NcclPreflight", name, None, env.component_options(opts))
        namespace = operators.training_namespace
        deps = [r for r in (operators.training_operator, operators.namespace) if r is not None]
        job = preflight_job(group)
        script = f"{job.run_name}-script"
        code = resources.files("components.training_job.scripts").joinpath(PREFLIGHT_SCRIPT).read_text("utf-8")
        config_map = k8s.core.v1.ConfigMap(f"{name}-script", metadata={"name": script, "namespace": namespace},
                                           data={PREFLIGHT_SCRIPT: code},
                                           opts=pulumi.ResourceOptions(parent=self, depends_on=deps))
        body = render_pytorchjob(job, group, namespace=namespace, etcd_host="", etcd_port=0,
                                 pretraining=PretrainingPods(service_account="default", script_config_map=script))
        body["spec"]["runPolicy"] = {"suspend": True, **body["spec"].get("runPolicy", {})}
        k8s.apiextensions.CustomResource(
            f"{name}-job", api_version=body["apiVersion"], kind=body["kind"], metadata=body["metadata"],
            spec=body["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*deps, config_map],
                                        ignore_changes=["spec.runPolicy.suspend"]))
        self.job_name = job.run_name
        self.register_outputs({"jobName": self.job_name, "namespace": namespace})
