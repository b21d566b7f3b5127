"""`CurationRayJob`: the RayJob, its domain-config ConfigMap, and its pods' AWS identity (EKS Pod Identity:
read the corpus and the tokenizer, write the curated output, use the platform key)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.cluster_operators.component import ClusterOperators
from components.context import Env
from components.eks_gpu_cluster.args import GpuNodeGroupArgs
from components.iam_documents import s3_arn, split_s3_uri
from components.pod_identity import associate, pod_identity_role
from components.ray_job.args import CurationRayJobArgs
from components.ray_job.render import DOMAIN_FILE, render_rayjob


def curation_policy(job: CurationRayJobArgs, partition: str, key_arn: str) -> dict[str, Any]:
    in_bucket, in_prefix = split_s3_uri(job.input_uri)
    out_bucket, out_prefix = split_s3_uri(job.output_uri)
    out_prefix = f"{out_prefix}{job.run_name}/"
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadCorpus", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": s3_arn(partition, job.input_uri, "*")},
        {"Sid": "ListCorpus", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": f"arn:{partition}:s3:::{in_bucket}",
         "Condition": {"StringLike": {"s3:prefix": [f"{in_prefix}*"]}}},
        # The curation reads back what earlier stages wrote (the .work folder) and removes it at the end.
        {"Sid": "WriteOutput", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                                                             "s3:AbortMultipartUpload"],
         "Resource": f"arn:{partition}:s3:::{out_bucket}/{out_prefix}*"},
        {"Sid": "ListOutput", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": f"arn:{partition}:s3:::{out_bucket}",
         "Condition": {"StringLike": {"s3:prefix": [f"{out_prefix}*"]}}},
        {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arn},
    ]
    if job.tokenizer_uri:
        statements.insert(1, {"Sid": "ReadTokenizer", "Effect": "Allow", "Action": ["s3:GetObject"],
                              "Resource": s3_arn(partition, job.tokenizer_uri)})
    return {"Version": "2012-10-17", "Statement": statements}


class CurationRayJob(pulumi.ComponentResource):
    job_name: str

    def __init__(self, name: str, args: CurationRayJobArgs, *, env: Env, node_group: GpuNodeGroupArgs | None,
                 operators: ClusterOperators, opts: pulumi.ResourceOptions | None = None) -> None:
        """`node_group`: where the workers run (None: the system nodes); `operators`: the KubeRay operator and
        the training namespace."""
        super().__init__("mlplat:ray_job:CurationRayJob", name, None,
                         env.component_options(opts, former_types=("mlplat:ray:CurationRayJob",)))
        if operators.kuberay is None:
            raise ValueError(f"{name}: RayJobs need gpuCluster.operators.kuberay: true")
        namespace = operators.training_namespace
        deps: list[pulumi.Resource] = [r for r in (operators.kuberay, operators.namespace) if r is not None]
        service_account, config_map = f"{args.run_name}-ray", f"{args.run_name}-domain"
        role = pod_identity_role(f"{name}-pods", env=env, cluster_name=operators.static_cluster_name, parent=self,
                                 inline=pulumi.Output.all(env.partition, env.key_arn).apply(
                                     lambda a: json.dumps(curation_policy(args, a[0], a[1]))))
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=deps)
        sa = k8s.core.v1.ServiceAccount(f"{name}-sa", metadata={"name": service_account, "namespace": namespace},
                                        opts=in_namespace)
        association = associate(f"{name}-pods", role, cluster_name=operators.cluster_name, namespace=namespace,
                                service_account=service_account, parent=self)
        domain = k8s.core.v1.ConfigMap(
            f"{name}-domain", metadata={"name": config_map, "namespace": namespace},
            data={DOMAIN_FILE: Path(args.domain_config).read_text(encoding="utf-8")}, opts=in_namespace)
        body = render_rayjob(args, node_group, namespace=namespace, service_account=service_account,
                             config_map=config_map)
        k8s.apiextensions.CustomResource(
            f"{name}-job", api_version=body["apiVersion"], kind=body["kind"], metadata=body["metadata"],
            spec=body["spec"], opts=pulumi.ResourceOptions(parent=self, depends_on=[*deps, sa, association, domain]))
        self.job_name = args.run_name
        self.register_outputs({"jobName": args.run_name, "namespace": namespace})
