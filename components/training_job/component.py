"""`FsdpTrainingJob`: the PyTorchJob custom resource and the Secret holding its Hugging Face token."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.cluster_operators.component import ClusterOperators
from components.eks_gpu_cluster.args import GpuNodeGroupArgs
from components.training_job.args import TrainingJobArgs
from components.training_job.render import HF_TOKEN_KEY, render_pytorchjob


class FsdpTrainingJob(pulumi.ComponentResource):
    job_name: str

    def __init__(self, name: str, args: TrainingJobArgs, *, node_group: GpuNodeGroupArgs,
                 operators: ClusterOperators, opts: pulumi.ResourceOptions | None = None) -> None:
        """`node_group`: the group the workers run on; `operators`: where the training operator,
        the training namespace and the etcd rendezvous service are."""
        super().__init__("mlplat:training:FsdpTrainingJob", name, None, opts)
        namespace = operators.training_namespace
        # The training operator (its CRD) and the namespace must exist before anything lands in it.
        deps: list[pulumi.Resource] = [r for r in (operators.training_operator, operators.namespace) if r is not None]
        secret_name = None
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
        body = render_pytorchjob(args, node_group, namespace=namespace, etcd_host=operators.etcd_host,
                                 etcd_port=operators.etcd_port, hf_secret_name=secret_name)
        k8s.apiextensions.CustomResource(
            f"{name}-job",
            api_version=body["apiVersion"],
            kind=body["kind"],
            metadata=body["metadata"],
            spec=body["spec"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=deps),
        )
        self.job_name = args.run_name
        self.register_outputs({"jobName": args.run_name, "namespace": namespace})
