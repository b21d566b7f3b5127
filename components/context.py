"""What every component needs from its environment, as two frozen records instead of keyword lists.

`Env` is the environment: where (region, account, partition), with which key, how carefully
(protect, log retention, tags) and through which providers. `NetworkRef` is the network a
component lives in: the VPC, its CIDR and the subnets by availability zone. pulumi-eks passes a
`CoreData` to its node groups in the same spirit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi


@dataclass(frozen=True)
class Env:
    """The environment every component is built in."""

    #: The stack's name scope (`dev`, `dev-teamx`: the name prefix without `mlplat-`): used in fixed physical names
    #: (secret paths), never to branch behaviour. Two stacks of one environment have different scopes.
    name: str
    region: str
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    #: The environment's KMS key; None only while the key itself is being created.
    kms_key_arn: pulumi.Input[str] | None = None
    #: Protect stateful resources (keys, clusters, domains, buckets) from deletion.
    protect: bool = False
    log_retention_days: int = 30
    #: The tags every taggable resource carries (the providers' `default_tags`).
    tags: Mapping[str, str] = field(default_factory=dict)
    #: Where buckets deliver S3 server access logs (None: they do not log).
    access_log_bucket: pulumi.Input[str] | None = None
    #: Package -> provider (`aws`, `aws-native`, `kubernetes`): children inherit them from the component.
    providers: Mapping[str, pulumi.ProviderResource] = field(default_factory=dict)

    @property
    def key_arn(self) -> pulumi.Input[str]:
        if self.kms_key_arn is None:
            raise ValueError(f"environment {self.name}: no KMS key yet (create PlatformKey first, then "
                             "env.with_key(key.key_arn))")
        return self.kms_key_arn

    def with_key(self, kms_key_arn: pulumi.Input[str]) -> Env:
        return replace(self, kms_key_arn=kms_key_arn)

    def with_providers(self, **providers: pulumi.ProviderResource) -> Env:
        """Add providers by package name (`aws_native=` for `aws-native`)."""
        merged = dict(self.providers)
        merged.update({k.replace("_", "-"): v for k, v in providers.items()})
        return replace(self, providers=merged)

    def component_options(self, opts: pulumi.ResourceOptions | None, *,
                          former_types: tuple[str, ...] = ()) -> pulumi.ResourceOptions:
        """A component's options: the environment's providers, then whatever the caller set.

        `former_types`: type tokens the component was registered under before (`mlplat:<package>:<Type>` is
        the rule now), as aliases: existing stacks keep the component and its children instead of replacing
        them (children inherit their parent's aliases).
        """
        base = pulumi.ResourceOptions(providers=dict(self.providers) if self.providers else None,
                                      aliases=[pulumi.Alias(type_=t) for t in former_types] or None)
        return pulumi.ResourceOptions.merge(base, opts)

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> pulumi.Output[str]:
        """`arn:<partition>:<service>:<region>:<account>:<resource>` for this environment."""
        return pulumi.Output.all(self.partition, self.account_id).apply(
            lambda a: f"arn:{a[0]}:{service}:{self.region if region else ''}:{a[1] if account else ''}:{resource}")

    def managed_policy(self, path: str) -> pulumi.Output[str]:
        """An AWS managed policy ARN (`arn:<partition>:iam::aws:policy/<path>`)."""
        return pulumi.Output.concat("arn:", self.partition, ":iam::aws:policy/", path)


@dataclass(frozen=True)
class NetworkRef:
    """The VPC a component is placed in."""

    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    #: Private subnet id per availability zone.
    private_subnets: Mapping[str, pulumi.Input[str]]
    #: Public subnet id per availability zone (empty for an existing VPC without them).
    public_subnets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    #: What instances in the private subnets need before they can reach AWS (NAT routes, endpoints).
    ready: tuple[pulumi.Resource, ...] = ()
    #: Whether AWS APIs (ECR, STS, logs, SageMaker) are reached through interface endpoints in the VPC; when
    #: False (`network.interfaceEndpoints: []`, a dev economy) they are reached through the NAT gateway.
    interface_endpoints: bool = True
    #: The tag this stack's network wrote on its private subnets (`karpenter.sh/discovery`: the network's name);
    #: None for a network made elsewhere, whose subnets are then selected by id.
    subnet_discovery: Mapping[str, str] | None = None

    @property
    def private_subnet_ids(self) -> list[pulumi.Input[str]]:
        return list(self.private_subnets.values())

    def subnet_in(self, availability_zone: str) -> pulumi.Input[str]:
        try:
            return self.private_subnets[availability_zone]
        except KeyError:
            raise ValueError(f"no private subnet in {availability_zone}; the network has "
                             f"{', '.join(self.private_subnets) or 'none'}") from None


def outputs_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop `None` entries: a component's optional outputs are simply absent."""
    return {k: v for k, v in values.items() if v is not None}
