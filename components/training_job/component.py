"""`FsdpTrainingJob`: the PyTorchJob custom resource, the Secret holding its Hugging Face token, and for
continued pre-training the pods' AWS identity (EKS Pod Identity: read the token shards, write the model) and
the ConfigMap carrying the training script."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.cluster_operators.component import ClusterOperators
from components.context import Env
from components.eks_gpu_cluster.args import GpuNodeGroupArgs
from components.iam_documents import split_s3_uri
from components.pod_identity import associate, pod_identity_role
from components.training_job.args import TrainingJobArgs
from components.training_job.gate import JobLinks, Upstream, gate_name, render_gate_job, render_role
from components.training_job.render import HF_TOKEN_KEY, SCRIPT, PretrainingPods, render_pytorchjob


def shards_policy(partition: str, tokens_uri: str, output_uri: str, key_arn: str) -> dict[str, Any]:
    """Read the shards' prefix, write under the output prefix, and use the platform key for both."""
    t_bucket, t_prefix = split_s3_uri(tokens_uri)
    o_bucket, o_prefix = split_s3_uri(output_uri)
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadShards", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": f"arn:{partition}:s3:::{t_bucket}/{t_prefix}*"},
        {"Sid": "ListShards", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": f"arn:{partition}:s3:::{t_bucket}", "Condition": {"StringLike": {"s3:prefix": [f"{t_prefix}*"]}}},
        {"Sid": "WriteModel", "Effect": "Allow", "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
         "Resource": f"arn:{partition}:s3:::{o_bucket}/{o_prefix}*"},
        {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arn},
    ]}


class FsdpTrainingJob(pulumi.ComponentResource):
    job_name: str

    def __init__(self, name: str, args: TrainingJobArgs, *, env: Env, node_group: GpuNodeGroupArgs,
                 operators: ClusterOperators, links: JobLinks | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        """`node_group`: the group the workers run on; `operators`: where the training operator,
        the training namespace and the etcd rendezvous service are; `links`: the RayJob in the same stack that
        writes this job's input (the job then waits for it, suspended, without a GPU node) and the shared file
        system's claim."""
        links = links or JobLinks()
        upstream = links.upstream
        super().__init__("mlplat:training_job:FsdpTrainingJob", name, None,
                         env.component_options(opts, former_types=("mlplat:training:FsdpTrainingJob",)))
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
        pods = None
        if args.objective == "continued-pretraining":
            assert args.token_shards_uri is not None and args.output_uri is not None
            pods = PretrainingPods(service_account=args.run_name, script_config_map=f"{args.run_name}-script",
                                   shared_claim=links.shared_claim)
            service_account, script = pods.service_account, pods.script_config_map
            role = pod_identity_role(
                f"{name}-pods", env=env, cluster_name=operators.static_cluster_name, parent=self,
                inline=pulumi.Output.all(env.partition, env.key_arn).apply(lambda a: json.dumps(
                    shards_policy(a[0], args.token_shards_uri, args.output_uri, a[1]))))
            sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata={"name": service_account, "namespace": namespace},
                                            opts=pulumi.ResourceOptions(parent=self, depends_on=deps))
            association = associate(f"{name}-pods", role, cluster_name=operators.cluster_name, namespace=namespace,
                                    service_account=service_account, parent=self)
            code = resources.files("components.training_job.scripts").joinpath(SCRIPT).read_text(encoding="utf-8")
            config_map = k8s.core.v1.ConfigMap(f"{name}-script", metadata={"name": script, "namespace": namespace},
                                               data={SCRIPT: code}, opts=pulumi.ResourceOptions(parent=self,
                                                                                               depends_on=deps))
            deps += [sa, association, config_map]
        body = render_pytorchjob(args, node_group, namespace=namespace, etcd_host=operators.etcd_host,
                                 etcd_port=operators.etcd_port, hf_secret_name=secret_name, pretraining=pods)
        if upstream is not None:  # created without pods; its gate starts it (training_job/gate.py)
            body["spec"]["runPolicy"] = {"suspend": True, **body["spec"].get("runPolicy", {})}
        job = k8s.apiextensions.CustomResource(
            f"{name}-job",
            api_version=body["apiVersion"],
            kind=body["kind"],
            metadata=body["metadata"],
            spec=body["spec"],
            # The gate un-suspends the job: a later `pulumi up` must not suspend a running job again.
            opts=pulumi.ResourceOptions(parent=self, depends_on=deps,
                                        ignore_changes=["spec.runPolicy.suspend"] if upstream else None),
        )
        if upstream is not None:
            self._gate(name, args.run_name, namespace, upstream, [*deps, job])
        self.job_name = args.run_name
        self.register_outputs({"jobName": args.run_name, "namespace": namespace})

    def _gate(self, name: str, job: str, namespace: str, upstream: Upstream, deps: list[pulumi.Resource]) -> None:
        """Service account, role and binding, then the Job that starts `job` after `upstream` succeeded."""
        opts = pulumi.ResourceOptions(parent=self, depends_on=deps)
        account = gate_name(job)
        sa = k8s.core.v1.ServiceAccount(f"{name}-gate", metadata={"name": account, "namespace": namespace},
                                        opts=opts)
        role = render_role(job, namespace, upstream)
        k8s_role = k8s.rbac.v1.Role(f"{name}-gate", metadata=role["metadata"], rules=role["rules"], opts=opts)
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-gate", metadata={"name": account, "namespace": namespace},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
            subjects=[{"kind": "ServiceAccount", "name": account, "namespace": namespace}], opts=opts)
        gate = render_gate_job(job, namespace, upstream)
        after = [upstream.resource] if upstream.resource is not None else []
        k8s.batch.v1.Job(f"{name}-gate", metadata=gate["metadata"], spec=gate["spec"],
                         opts=pulumi.ResourceOptions(parent=self, depends_on=[*deps, sa, k8s_role, binding, *after]))
