"""`ml-platform:network`: the VPC to create, or one that exists (pydantic only, no provider import)."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from components.base import LogRetentionDays, StrictModel, problem

#: Interface endpoints the platform's private workloads need (service suffixes).
DEFAULT_INTERFACE_ENDPOINTS: tuple[str, ...] = (
    "ecr.api",
    "ecr.dkr",
    "sts",
    "logs",
    "sagemaker.api",
    "sagemaker.runtime",
)
InterfaceEndpoint = Literal[
    "ecr.api", "ecr.dkr", "sts", "logs", "sagemaker.api", "sagemaker.runtime", "bedrock-runtime",
    "secretsmanager", "kms", "ec2", "elasticloadbalancing", "eks", "eks-auth", "ssm", "lambda", "dynamodb",
]
AZ_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$"


def _az_name(value: str) -> str:
    if not re.match(AZ_PATTERN, value):
        raise ValueError(f"expected an availability-zone name such as us-east-1a; found {value!r}")
    return value


#: One AZ name: a wrong one is reported at its index (`availabilityZones[1]`).
AzName = Annotated[str, AfterValidator(_az_name)]


class ExistingVpc(StrictModel):
    """A VPC created elsewhere (bring your own): nothing network-related is created."""

    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$", description="Id of the existing VPC.")
    vpc_cidr: str = Field(description="The VPC's primary IPv4 CIDR (used for security-group rules).")
    private_subnet_ids: dict[str, str] = Field(
        min_length=1, description="Private subnet id per availability zone, e.g. {us-east-1a: subnet-0abc...}."
    )
    public_subnet_ids: dict[str, str] = Field(default_factory=dict, description="Public subnet id per AZ.")

    @field_validator("private_subnet_ids", "public_subnet_ids")
    @classmethod
    def _subnet_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for az, subnet in value.items():
            if not re.match(AZ_PATTERN, az):
                raise ValueError(f"expected availability-zone names as keys (e.g. us-east-1a); found {az!r}")
            if not re.match(r"^subnet-[0-9a-f]{8,17}$", subnet):
                raise ValueError(f"expected subnet ids (subnet-0123abcd...) as values; found {subnet!r}")
        return value


class NetworkArgs(StrictModel):
    """Inputs of `Network`."""

    vpc_cidr: str = Field(default="10.0.0.0/16", description="IPv4 CIDR of the VPC, /16 to /20.")
    availability_zones: list[AzName] = Field(
        min_length=2, max_length=6, description="AZs to spread subnets over (2 to 6), e.g. [us-east-1a, us-east-1b]."
    )
    nat_gateways: Literal["single", "perAz"] = Field(
        default="single", description="One NAT gateway for the VPC, or one per AZ (per environment: perAz in prod)."
    )
    interface_endpoints: list[InterfaceEndpoint] = Field(
        default_factory=lambda: list(DEFAULT_INTERFACE_ENDPOINTS),
        description="Interface VPC endpoints in the private subnets (an S3 gateway endpoint is always created).",
    )
    flow_logs_retention_days: LogRetentionDays = Field(default=90, description="Retention of the VPC flow-log group.")
    existing: ExistingVpc | None = Field(default=None, description="Use an existing VPC instead of creating one.")
    from_stack: str | None = Field(
        default=None, pattern=r"^[\w.-]+/[\w.-]+/[\w.-]+$",
        description="Use the VPC exported by another stack (org/project/stack: its vpcId, vpcCidr, privateSubnetIds "
                    "and publicSubnetIds outputs), when a team splits the network into its own layer.",
    )

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            net = ipaddress.IPv4Network(value)
        except ValueError:
            try:  # an address inside the network rather than the network's own (host bits set)
                network = ipaddress.IPv4Network(value, strict=False)
            except ValueError:
                raise ValueError(f"expected an IPv4 CIDR such as 10.0.0.0/16; found {value!r}") from None
            raise ValueError(f"expected the network's own address ({network}), without host bits set") from None
        if not 16 <= net.prefixlen <= 20:
            raise ValueError(f"expected a prefix length from /16 to /20; found /{net.prefixlen}")
        return str(net)

    @field_validator("availability_zones")
    @classmethod
    def _azs(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("availability zones must be distinct")
        return value

    @model_validator(mode="after")
    def _existing_covers_azs(self) -> NetworkArgs:
        if self.existing is not None and self.from_stack is not None:
            raise problem("fromStack", "expected at most one of existing and fromStack; found both")
        if self.existing is not None:
            missing = [az for az in self.availability_zones if az not in self.existing.private_subnet_ids]
            if missing:
                raise problem(("existing", "privateSubnetIds"), "expected a subnet for every availability zone; "
                                                                f"found none for {', '.join(missing)}")
        return self

    def subnet_cidrs(self) -> tuple[list[str], list[str]]:
        """(private, public) CIDRs: private /19s (of a /16) from the bottom, public /22s from the top block."""
        vpc = ipaddress.IPv4Network(self.vpc_cidr)
        blocks = list(vpc.subnets(new_prefix=vpc.prefixlen + 3))
        private = [str(b) for b in blocks[: len(self.availability_zones)]]
        top = list(blocks[-1].subnets(new_prefix=vpc.prefixlen + 6))
        public = [str(b) for b in top[: len(self.availability_zones)]]
        return private, public
