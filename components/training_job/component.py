"""`FsdpTrainingJob`: the PyTorchJob custom resource and the Secret holding its Hugging Face token."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.eks_gpu_cluster.args import GpuNodeGroupArgs
from components.training_job.args import TrainingJobArgs
from components.training_job.render import HF_TOKEN_KEY, render_pytorchjob


class FsdpTrainingJob(pulumi.ComponentResource):
    job_name: str

    def __init__(
        self,
        name: str,
        args: TrainingJobArgs,
        *,
        node_group: GpuNodeGroupArgs,
        namespace: str,
        etcd_host: str = "etcd",
        etcd_port: int = 2379,
        depends_on: list[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlplat:training:FsdpTrainingJob", name, None, opts)
        secret_name = None
        deps = list(depends_on or [])
        if args.hf_token is not None:
            secret_name = f"{args.name}-hf-token"
            secret = k8s.core.v1.Secret(
                f"{name}-hf-token",
                metadata={"name": secret_name, "namespace": namespace},
                type="Opaque",
                string_data={HF_TOKEN_KEY: pulumi.Output.secret(args.hf_token.get_secret_value())},
                opts=pulumi.ResourceOptions(parent=self, depends_on=deps),
            )
            deps.append(secret)
        body = render_pytorchjob(args, node_group, namespace=namespace, etcd_host=etcd_host, etcd_port=etcd_port,
                                 hf_secret_name=secret_name)
        k8s.apiextensions.CustomResource(
            f"{name}-job",
            api_version=body["apiVersion"],
            kind=body["kind"],
            metadata=body["metadata"],
            spec=body["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=deps),
        )
        self.job_name = args.name
        self.register_outputs({"jobName": args.name, "namespace": namespace})
