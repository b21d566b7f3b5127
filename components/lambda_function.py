"""A Lambda function with its own role, role policy and encrypted log group: the one way this platform builds one.

Every function gets: the runtime and architecture pinned in `components/catalog/versions.py`; a log group
`/aws/lambda/<name>` with the environment's retention and KMS key, created first and named in the function's
`logging_config` (so Lambda never creates an unencrypted one that keeps logs forever); a role trusted by
Lambda alone, whose inline policy the caller writes knowing the log group's ARN; the function's environment
encrypted with the environment's key. The function waits for its policy: `CreateFunction` checks the role
can write traces and reach the VPC when those are asked for.

Logical names are `<name>` (function), `<name>-role` (role and inline policy), `<name>-logs` (log group),
`<name>-<short>` (managed policy attachments).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.aws_calls import CALLS_TAG
from components.catalog.versions import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME
from components.context import Env
from components.iam_documents import LAMBDA_TRUST


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between the platform's functions."""

    name: str
    handler: str
    code: pulumi.Archive
    timeout: int
    memory_size: int = 256
    variables: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    dead_letter_arn: pulumi.Input[str] | None = None
    vpc: aws.lambda_.FunctionVpcConfigArgs | None = None
    #: AWS managed policies attached to the role: short name (logical `<name>-<short>`) -> path under
    #: `arn:<partition>:iam::aws:policy/`.
    managed_policies: Mapping[str, str] = field(default_factory=dict)
    #: X-Ray active tracing (the role's policy must then allow xray:PutTraceSegments and PutTelemetryRecords).
    tracing: bool = False
    #: Set the physical name to `name` (False: Pulumi generates one; the log group is still `/aws/lambda/<name>`).
    named: bool = True
    #: Earlier logical names of the role and its inline policy, kept so an existing stack replaces nothing.
    role_aliases: Sequence[str] = ()
    #: The AWS APIs the code calls (components/aws_calls.py), as endpoint service names: required in a VPC, where
    #: the pack's `vpc-functions-reach-their-apis` policy checks each has a path (tag `mlplat:aws-calls`).
    calls: Sequence[str] = ()


@dataclass(frozen=True)
class LambdaFunction:
    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup


def lambda_function(spec: FunctionSpec, policy: Callable[[pulumi.Output[str]], pulumi.Input[str]], *, env: Env,
                    parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()) -> LambdaFunction:
    """Build `spec`; `policy(log_group_arn)` returns the role's inline policy document (JSON)."""
    if spec.vpc is not None and not spec.calls:
        raise ValueError(f"{spec.name}: a function in a VPC must say which AWS APIs it calls (FunctionSpec.calls, "
                         "components/aws_calls.py): the network must route it to each")
    child = pulumi.ResourceOptions(parent=parent)
    aliases = [pulumi.Alias(name=a) for a in spec.role_aliases]
    logs = aws.cloudwatch.LogGroup(f"{spec.name}-logs", name=f"/aws/lambda/{spec.name}",
                                   retention_in_days=env.log_retention_days, kms_key_id=env.key_arn, opts=child)
    role = aws.iam.Role(f"{spec.name}-role", assume_role_policy=LAMBDA_TRUST,
                        opts=pulumi.ResourceOptions(parent=parent, aliases=aliases))
    role_policy = aws.iam.RolePolicy(f"{spec.name}-role", role=role.id, policy=policy(logs.arn),
                                     opts=pulumi.ResourceOptions(parent=parent, aliases=aliases))
    attachments = [aws.iam.RolePolicyAttachment(f"{spec.name}-{short}", role=role.name,
                                                policy_arn=env.managed_policy(path), opts=child)
                   for short, path in spec.managed_policies.items()]
    function = aws.lambda_.Function(
        spec.name,
        name=spec.name if spec.named else None,
        runtime=LAMBDA_RUNTIME,
        architectures=[LAMBDA_ARCHITECTURE],
        handler=spec.handler,
        code=spec.code,
        role=role.arn,
        timeout=spec.timeout,
        memory_size=spec.memory_size,
        reserved_concurrent_executions=spec.reserved_concurrency,
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(spec.variables)),
        kms_key_arn=env.key_arn,
        vpc_config=spec.vpc,
        dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=spec.dead_letter_arn)
        if spec.dead_letter_arn is not None else None,
        tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active") if spec.tracing else None,
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=logs.name),
        tags={CALLS_TAG: " ".join(spec.calls)} if spec.calls else None,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[logs, role_policy, *attachments, *depends_on]),
    )
    return LambdaFunction(function, role, logs)
