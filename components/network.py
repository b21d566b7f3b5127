"""VPC for the platform: public and private subnets per AZ, NAT, VPC endpoints, flow logs.

Private subnets are large (/19 of a /16 by default) because the VPC CNI gives every pod a VPC
address and an EFA node with 32 interfaces consumes many. Interface endpoints keep SageMaker,
ECR, STS and CloudWatch Logs traffic off the NAT and inside the VPC (`VpcOnly` domains and
network-isolated models need them).
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Literal

import pulumi
import pulumi_aws as aws
from pydantic import Field, field_validator, model_validator

from components.base import StrictModel, problem
from components.iam_documents import service_trust

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
    "secretsmanager", "kms", "ec2", "elasticloadbalancing", "eks", "eks-auth", "ssm",
]
#: CloudWatch Logs accepts only these retention values (PutRetentionPolicy).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)

AZ_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$"


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
    availability_zones: list[str] = Field(
        min_length=2, max_length=6, description="AZs to spread subnets over (2 to 6), e.g. [us-east-1a, us-east-1b]."
    )
    nat_gateways: Literal["single", "perAz"] | None = Field(
        default=None, description="One NAT gateway for the VPC, or one per AZ (default: single outside prod)."
    )
    interface_endpoints: list[InterfaceEndpoint] = Field(
        default_factory=lambda: list(DEFAULT_INTERFACE_ENDPOINTS),
        description="Interface VPC endpoints in the private subnets (an S3 gateway endpoint is always created).",
    )
    flow_logs_retention_days: int = Field(default=90, description="Retention of the VPC flow-log group.")
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
            raise ValueError(f"expected an IPv4 CIDR such as 10.0.0.0/16; found {value!r}") from None
        if not 16 <= net.prefixlen <= 20:
            raise ValueError(f"expected a prefix length from /16 to /20; found /{net.prefixlen}")
        return str(net)

    @field_validator("availability_zones")
    @classmethod
    def _azs(cls, value: list[str]) -> list[str]:
        bad = [az for az in value if not re.match(AZ_PATTERN, az)]
        if bad:
            raise ValueError(f"expected availability-zone names such as us-east-1a; found {', '.join(bad)}")
        if len(set(value)) != len(value):
            raise ValueError("availability zones must be distinct")
        return value

    @field_validator("flow_logs_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"expected one of {', '.join(map(str, LOG_RETENTION_DAYS))}; found {value}")
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


class Network(pulumi.ComponentResource):
    """The platform VPC, or a pass-through of an existing one."""

    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    private_subnet_ids: dict[str, pulumi.Output[str]]
    public_subnet_ids: dict[str, pulumi.Output[str]]
    #: What instances in the private subnets need before they can reach AWS APIs and registries
    #: (NAT routes, VPC endpoints): node groups wait for it, or their nodes fail to join.
    egress: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        args: NetworkArgs,
        *,
        region: str,
        kms_key_arn: pulumi.Input[str],
        account_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mlplat:network:Network", name, None, opts)
        self._name = name
        self.egress = []
        if args.from_stack is not None:
            ref = pulumi.StackReference(f"{name}-network-layer", stack_name=args.from_stack,
                                        opts=pulumi.ResourceOptions(parent=self))
            self.vpc_id = ref.require_output("vpcId")
            self.vpc_cidr = ref.require_output("vpcCidr")
            private, public = ref.require_output("privateSubnetIds"), ref.get_output("publicSubnetIds")
            self.private_subnet_ids = {az: private.apply(lambda ids, az=az: ids[az]) for az in args.availability_zones}
            self.public_subnet_ids = {az: public.apply(lambda ids, az=az: (ids or {}).get(az))
                                      for az in args.availability_zones}
        elif args.existing is not None:
            self.vpc_id = pulumi.Output.from_input(args.existing.vpc_id)
            self.vpc_cidr = pulumi.Output.from_input(args.existing.vpc_cidr)
            self.private_subnet_ids = {
                az: pulumi.Output.from_input(args.existing.private_subnet_ids[az]) for az in args.availability_zones
            }
            self.public_subnet_ids = {
                az: pulumi.Output.from_input(s) for az, s in args.existing.public_subnet_ids.items()
            }
        else:
            self._create(args, region, kms_key_arn, account_id)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "vpcCidr": self.vpc_cidr,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
            }
        )

    def _opts(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _create(self, args: NetworkArgs, region: str, kms_key_arn: pulumi.Input[str],
                account_id: pulumi.Input[str]) -> None:
        name = self._name
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{name}-vpc"},
            opts=self._opts(),
        )
        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        # The default security group of a new VPC allows all traffic between its members: empty it.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, opts=self._opts())
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{name}-igw"}, opts=self._opts())
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={"Name": f"{name}-public"},
            opts=self._opts(),
        )
        private_cidrs, public_cidrs = args.subnet_cidrs()
        self.public_subnet_ids, self.private_subnet_ids = {}, {}
        nat_ids: dict[str, pulumi.Output[str]] = {}
        private_rts: list[aws.ec2.RouteTable] = []
        nat_azs = args.availability_zones if args.nat_gateways == "perAz" else args.availability_zones[:1]
        for i, az in enumerate(args.availability_zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{az}",
                vpc_id=vpc.id,
                cidr_block=public_cidrs[i],
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{az}", "kubernetes.io/role/elb": "1"},
                opts=self._opts(),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{az}", subnet_id=public.id, route_table_id=public_rt.id, opts=self._opts()
            )
            self.public_subnet_ids[az] = public.id
            if az in nat_azs:
                eip = aws.ec2.Eip(f"{name}-nat-{az}", domain="vpc", tags={"Name": f"{name}-nat-{az}"},
                                  opts=self._opts(depends_on=[igw]))
                nat = aws.ec2.NatGateway(
                    f"{name}-nat-{az}",
                    allocation_id=eip.id,
                    subnet_id=public.id,
                    tags={"Name": f"{name}-nat-{az}"},
                    opts=self._opts(),
                )
                nat_ids[az] = nat.id
                self.egress.append(nat)
        for i, az in enumerate(args.availability_zones):
            private = aws.ec2.Subnet(
                f"{name}-private-{az}",
                vpc_id=vpc.id,
                cidr_block=private_cidrs[i],
                availability_zone=az,
                tags={"Name": f"{name}-private-{az}", "kubernetes.io/role/internal-elb": "1"},
                opts=self._opts(),
            )
            nat_id = nat_ids.get(az, nat_ids[nat_azs[0]])
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{az}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat_id)],
                tags={"Name": f"{name}-private-{az}"},
                opts=self._opts(),
            )
            assoc = aws.ec2.RouteTableAssociation(
                f"{name}-private-{az}", subnet_id=private.id, route_table_id=rt.id, opts=self._opts()
            )
            private_rts.append(rt)
            self.egress += [rt, assoc]
            self.private_subnet_ids[az] = private.id
        self._endpoints(args, region, vpc, private_rts)
        self._flow_logs(args, vpc, kms_key_arn, account_id)

    def _endpoints(
        self, args: NetworkArgs, region: str, vpc: aws.ec2.Vpc, private_rts: list[aws.ec2.RouteTable]
    ) -> None:
        name = self._name
        s3 = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.{region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts],
            tags={"Name": f"{name}-s3"},
            opts=self._opts(),
        )
        self.egress.append(s3)
        if not args.interface_endpoints:
            return
        sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            vpc_id=vpc.id,
            description="HTTPS from the VPC to interface endpoints",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp", from_port=443, to_port=443, cidr_blocks=[vpc.cidr_block],
                    description="HTTPS from the VPC",
                )
            ],
            tags={"Name": f"{name}-endpoints"},
            opts=self._opts(),
        )
        for service in args.interface_endpoints:
            endpoint = aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=list(self.private_subnet_ids.values()),
                security_group_ids=[sg.id],
                tags={"Name": f"{name}-{service}"},
                opts=self._opts(),
            )
            self.egress.append(endpoint)

    def _flow_logs(self, args: NetworkArgs, vpc: aws.ec2.Vpc, kms_key_arn: pulumi.Input[str],
                   account_id: pulumi.Input[str]) -> None:
        name = self._name
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=args.flow_logs_retention_days,
            kms_key_id=kms_key_arn,
            opts=self._opts(),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=pulumi.Output.from_input(account_id).apply(
                lambda acct: service_trust("vpc-flow-logs.amazonaws.com", account_id=acct)),
            opts=self._opts(),
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=log_group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "logs:CreateLogStream",
                                    "logs:PutLogEvents",
                                    "logs:DescribeLogStreams",
                                ],
                                "Resource": [arn, f"{arn}:*"],
                            }
                        ],
                    }
                )
            ),
            opts=self._opts(),
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            opts=self._opts(),
        )
