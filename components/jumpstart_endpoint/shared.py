"""`SharedEndpoint`: one endpoint whose instances host several JumpStart models as inference components.

The endpoint configuration is the scale-to-zero one (`scale_to_zero.py`: a variant with no model, managed instance
scaling from 0, least-outstanding-requests routing, the VPC, network isolation and the execution role); each model
(endpoints[] with `sharedEndpoint`) adds its Model and an inference component sized by `sharing.py`, whose copies
scale from 0 on their own. The models share the endpoint's execution role and security group: the role's policy is
the union of what each model's container needs (its image repository, its artifacts).
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from components.catalog.jumpstart import JumpStartSpec
from components.catalog.sagemaker_instances import SAGEMAKER_INSTANCES
from components.context import Env, NetworkRef
from components.egress import https_to_vpc_and_s3
from components.iam_documents import Account, service_trust
from components.jumpstart_endpoint.args import EndpointArgs, ScaleToZero, SharedEndpointArgs
from components.jumpstart_endpoint.component import SharedHost, execution_policy, network_isolation
from components.jumpstart_endpoint.scale_to_zero import ZeroConfig, native_endpoint_config
from components.jumpstart_endpoint.sharing import Copy, copy_of


def shared_policy(members: list[tuple[str, JumpStartSpec, Copy]], acct: Account, *, key_arn: str, prefix: str,
                  instance_type: str, resource_prefix: str = "") -> dict[str, Any]:
    """One statement list for every model: each model's execution policy, its statements renamed per model. Each
    model's inference component is `<resource_prefix>-<endpoint>-ic-<suffix>` (JumpStartEndpoint's)."""
    statements: dict[str, dict] = {}
    for endpoint, spec, copy in members:
        for statement in execution_policy(spec, acct, key_arn=key_arn, endpoint_prefix=prefix, capture_bucket_arn=None,
                                          image=(copy.accelerators, instance_type),
                                          component_prefix=f"{resource_prefix}-{endpoint}-ic")["Statement"]:
            body = json.dumps({k: v for k, v in statement.items() if k != "Sid"}, sort_keys=True)
            if body not in statements:
                statements[body] = {**statement, "Sid": f"{statement['Sid']}{endpoint.title().replace('-', '')}"}
    return {"Version": "2012-10-17", "Statement": list(statements.values())}


class SharedEndpoint(pulumi.ComponentResource):
    host: SharedHost

    def __init__(self, name: str, args: SharedEndpointArgs, members: list[tuple[EndpointArgs, JumpStartSpec]], *,
                 env: Env, network: NetworkRef, member_prefix: str, opts: pulumi.ResourceOptions | None = None) -> None:
        """`member_prefix`: what the stack names each member's JumpStartEndpoint after, `<member_prefix>-<name>`
        (its inference component is `<that>-ic-<suffix>`, whose logs the shared role writes)."""
        super().__init__("mlplat:jumpstart_endpoint:SharedEndpoint", name, None, env.component_options(opts))
        child = pulumi.ResourceOptions(parent=self)
        instance = SAGEMAKER_INSTANCES[args.instance_type]
        copies = {ep.name: copy_of(ep.name, spec, instance, ep.accelerators_per_copy) for ep, spec in members}
        for ep, spec in members:
            if args.instance_type not in spec.supported_instance_types:  # allowUnlistedInstanceType (checked)
                pulumi.log.warn(f"{name}: {ep.name} ({spec.model_id}) runs on {args.instance_type}, which its "
                                f"JumpStart spec does not list ({', '.join(spec.supported_instance_types)}): its "
                                "image is the one chosen for the instance family, on hardware its publisher did not "
                                "validate", resource=self)
        region = env.region
        trust = pulumi.Output.from_input(env.account_id).apply(
            lambda acct: service_trust("sagemaker.amazonaws.com", account_id=acct))
        role = aws.iam.Role(f"{name}-role", assume_role_policy=trust, opts=child)
        policy = pulumi.Output.all(env.account_id, env.partition, env.key_arn).apply(lambda a: json.dumps(shared_policy(
            [(ep.name, spec, copies[ep.name]) for ep, spec in members], Account(region, a[0], a[1]), key_arn=a[2],
            prefix=name, instance_type=args.instance_type, resource_prefix=member_prefix)))
        role_policy = aws.iam.RolePolicy(f"{name}-role", role=role.id, policy=policy, opts=child)
        sg = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=network.vpc_id,
                                   description=f"SageMaker shared endpoint {name}: HTTPS to VPC endpoints and S3",
                                   egress=https_to_vpc_and_s3(env, network, self), opts=child)
        # Isolated unless a member's own spec turns isolation off (the endpoint configuration holds it for all).
        isolation = [network_isolation(spec) for _, spec in members]
        isolated = all(on for on, _ in isolation)
        tags = next((t for on, t in isolation if not on), None)
        config_name = native_endpoint_config(self, name, ZeroConfig(
            role_arn=role.arn, key_arn=env.key_arn, instance_type=args.instance_type,
            timeouts={"volume_size_in_gb": None if instance.nvme else 100},
            settings=ScaleToZero(enabled=True, max_instances=args.max_instances),
            subnets=network.private_subnet_ids, security_groups=[sg.id], network_isolation=isolated, tags=tags),
            pulumi.ResourceOptions(parent=self, depends_on=[role_policy]))
        endpoint = aws.sagemaker.Endpoint(f"{name}-endpoint", endpoint_config_name=config_name,
                                          opts=pulumi.ResourceOptions(parent=self,
                                                                      replace_on_changes=["endpointConfigName"]))
        self.host = SharedHost(endpoint, role.arn, role_policy, sg.id, instance, copies, len(members))
        # What the same models cost on their own default instances, one each: the cost view's comparison.
        dedicated = sum(SAGEMAKER_INSTANCES[spec.default_instance_type].hourly_usd for _, spec in members)
        self.register_outputs({"endpointName": endpoint.name, "members": [ep.name for ep, _ in members],
                               "dedicatedHourlyUsd": round(dedicated, 4)})
