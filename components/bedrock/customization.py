"""What every Bedrock customization job needs, whatever it trains: a role Bedrock assumes (confused-deputy
protected), S3 and KMS access scoped to its data, optionally a VPC security group, and the `CustomModel` (the
job) itself, retained on delete. `BedrockFineTuning` and `BedrockContinuedPretraining` differ only in their data
and hyperparameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.bedrock.run_guard import RunGuard
from components.context import Env, NetworkRef
from components.egress import https_to_vpc_and_s3
from components.iam_documents import service_trust, split_s3_uri
from components.storage.args import BucketArgs, LifecycleRule
from components.storage.component import SecureBucket


def bedrock_trust(account_id: str, partition: str, region: str, resource: str) -> str:
    """Trust for bedrock.amazonaws.com with confused-deputy protection."""
    return service_trust("bedrock.amazonaws.com", account_id=account_id,
                         source_arn=f"arn:{partition}:bedrock:{region}:{account_id}:{resource}")


def customization_policy(*, partition: str, read_uris: list[str], output_uri: str, key_arn: str,
                         vpc: bool, region: str, account_id: str) -> dict[str, Any]:
    """S3 access scoped to the training (and validation) data's prefixes (read) and the output prefix (write)."""
    statements: list[dict[str, Any]] = []
    for sid, uri in zip(("TrainingData", "ValidationData"), read_uris, strict=False):
        r_bucket, r_key = split_s3_uri(uri)
        r_prefix = r_key.rsplit("/", 1)[0] + "/" if "/" in r_key else ""
        statements += [
            {"Sid": f"Read{sid}", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": f"arn:{partition}:s3:::{r_bucket}/{r_prefix}*"},
            {"Sid": f"List{sid}", "Effect": "Allow", "Action": ["s3:ListBucket"],
             "Resource": f"arn:{partition}:s3:::{r_bucket}",
             "Condition": {"StringLike": {"s3:prefix": [f"{r_prefix}*"]}}},
        ]
    o_bucket, o_key = split_s3_uri(output_uri)
    o_prefix = o_key.rstrip("/") + "/" if o_key else ""
    statements += [
        {"Sid": "WriteOutput", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": f"arn:{partition}:s3:::{o_bucket}/{o_prefix}*"},
        {"Sid": "ListOutput", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": f"arn:{partition}:s3:::{o_bucket}", "Condition": {"StringLike": {"s3:prefix": [f"{o_prefix}*"]}}},
        {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
         "Resource": key_arn},
    ]
    if vpc:
        statements += [
            {"Sid": "VpcDescribe", "Effect": "Allow", "Resource": "*",
             "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions",
                        "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"]},
            {"Sid": "VpcEnis", "Effect": "Allow",
             "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
                        "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterfacePermission"],
             "Resource": [f"arn:{partition}:ec2:{region}:{account_id}:{k}/*"
                          for k in ("network-interface", "subnet", "security-group")]},
            # Bedrock tags the interfaces it creates (Bedrock user guide, "Attach VPC permissions to a model
            # customization role"): only at creation, and only with its own two keys.
            {"Sid": "TagEnisAtCreation", "Effect": "Allow", "Action": ["ec2:CreateTags"],
             "Resource": f"arn:{partition}:ec2:{region}:{account_id}:network-interface/*",
             "Condition": {"StringEquals": {"ec2:CreateAction": ["CreateNetworkInterface"]},
                           "ForAllValues:StringEquals": {"aws:TagKeys": ["BedrockManaged",
                                                                        "BedrockModelCustomizationJobArn"]}}},
        ]
    return {"Version": "2012-10-17", "Statement": statements}


@dataclass
class JobSpec:
    custom_model_name: str
    job_name: str
    customization_type: Literal["FINE_TUNING", "CONTINUED_PRE_TRAINING"]
    base_model: str
    training_uri: pulumi.Input[str]
    output_uri: pulumi.Input[str]
    hyperparameters: dict[str, str]
    validation_uri: str | None = None
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    #: The run (job and model names end with it) and everything it trains on, for the run guard (run_guard.py).
    run_id: str = ""
    run_inputs: dict = field(default_factory=dict)


def data_bucket(parent: pulumi.Resource, name: str, env: Env) -> SecureBucket:
    """The job's own bucket (training data and output), `<name>-<account>`."""
    return SecureBucket(
        f"{name}-data", BucketArgs(lifecycle=(LifecycleRule(id="abort-uploads", noncurrent_expire_days=90),)),
        env=env, bucket_name=pulumi.Output.concat(f"{name}-", env.account_id),
        opts=pulumi.ResourceOptions(parent=parent))


def customization_job(parent: pulumi.Resource, name: str, env: Env, network: NetworkRef | None,
                      spec: JobSpec) -> tuple[aws.iam.Role, aws.bedrock.CustomModel]:
    """The role, its policy, the VPC security group when `network` is given, and the job; the job starts only
    after the policy and `spec.depends_on` (its uploaded data) exist."""
    child = pulumi.ResourceOptions(parent=parent)
    # A base that is Legacy or past its end of life on the day of the plan is refused before anything is created
    # (stacks/checks/bedrock.py, the calendar in components/catalog/lifecycle.py).
    region, account_id, partition, kms_key_arn = env.region, env.account_id, env.partition, env.key_arn
    trust = pulumi.Output.all(account_id, partition).apply(
        lambda a: bedrock_trust(a[0], a[1], region, "model-customization-job/*"))
    role = aws.iam.Role(f"{name}-role", assume_role_policy=trust, opts=child)
    policy = aws.iam.RolePolicy(
        f"{name}-role", role=role.id,
        policy=pulumi.Output.all(partition, spec.training_uri, spec.output_uri, kms_key_arn, account_id).apply(
            lambda a: json.dumps(customization_policy(
                partition=a[0], read_uris=[a[1], *([spec.validation_uri] if spec.validation_uri else [])],
                output_uri=a[2], key_arn=a[3], vpc=network is not None, region=region, account_id=a[4]))),
        opts=child)
    vpc_config, subnets, groups = None, None, None
    if network is not None:
        sg = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=network.vpc_id, description=f"Bedrock customization job {name}",
                                   egress=https_to_vpc_and_s3(env, network, parent), opts=child)
        subnets, groups = network.private_subnet_ids, [sg.id]
        vpc_config = aws.bedrock.CustomModelVpcConfigArgs(security_group_ids=groups, subnet_ids=subnets)
    model = aws.bedrock.CustomModel(
        f"{name}-model",
        custom_model_name=spec.custom_model_name,
        job_name=spec.job_name,
        base_model_identifier=pulumi.Output.concat(
            "arn:", partition, f":bedrock:{region}::foundation-model/{spec.base_model}"),
        customization_type=spec.customization_type,
        hyperparameters=spec.hyperparameters,
        role_arn=role.arn,
        training_data_config=aws.bedrock.CustomModelTrainingDataConfigArgs(s3_uri=spec.training_uri),
        validation_data_config=aws.bedrock.CustomModelValidationDataConfigArgs(
            validators=[aws.bedrock.CustomModelValidationDataConfigValidatorArgs(s3_uri=spec.validation_uri)])
        if spec.validation_uri else None,
        output_data_config=aws.bedrock.CustomModelOutputDataConfigArgs(s3_uri=spec.output_uri),
        custom_model_kms_key_id=kms_key_arn,
        vpc_config=vpc_config,
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True, depends_on=[policy, *spec.depends_on]),
    )
    # Refuses, at preview, new inputs under a runId that already trained (a job name is never reused); created after
    # the job, so a job AWS refused at creation can be corrected under the same runId.
    RunGuard(f"{name}-run", job=name, run_id=spec.run_id, inputs=spec.run_inputs, forces={
        "baseModel": spec.base_model, "roleArn": role.arn, "kmsKeyId": kms_key_arn, "trainingS3Uri": spec.training_uri,
        "validationS3Uri": spec.validation_uri, "outputS3Uri": spec.output_uri, "vpcSubnetIds": subnets,
        "vpcSecurityGroupIds": groups}, opts=pulumi.ResourceOptions(parent=parent, depends_on=[model]))
    return role, model
