"""VPC for the platform: public and private subnets per AZ, NAT, VPC endpoints, flow logs.

Private subnets are large (/19 of a /16 by default) because the VPC CNI gives every pod a VPC
address and an EFA node with 32 interfaces consumes many. Interface endpoints keep SageMaker,
ECR, STS and CloudWatch Logs traffic off the NAT and inside the VPC (`VpcOnly` domains and
network-isolated models need them).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.catalog.tags import DISCOVERY_TAG
from components.context import Env, NetworkRef
from components.iam_documents import service_trust
from components.network.args import NetworkArgs


class Network(pulumi.ComponentResource):
    """The platform VPC, or a pass-through of an existing one."""

    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    private_subnet_ids: dict[str, pulumi.Output[str]]
    public_subnet_ids: dict[str, pulumi.Output[str]]
    #: What instances in the private subnets need before they can reach AWS APIs and registries
    #: (NAT routes, VPC endpoints): node groups wait for it, or their nodes fail to join.
    egress: list[pulumi.Resource]
    #: The same, as the record other components take.
    ref: NetworkRef

    def __init__(self, name: str, args: NetworkArgs, *, env: Env, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplat:network:Network", name, None, env.component_options(opts))
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
            self._create(args, env)
        created = args.from_stack is None and args.existing is None
        self.ref = NetworkRef(self.vpc_id, self.vpc_cidr, self.private_subnet_ids, self.public_subnet_ids,
                              tuple(self.egress), interface_endpoints=bool(args.interface_endpoints),
                              subnet_discovery={DISCOVERY_TAG: name} if created else None)
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

    def _create(self, args: NetworkArgs, env: Env) -> None:
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
                # The discovery tag: Karpenter's EC2NodeClasses select these subnets by it (subnetSelectorTerms).
                tags={"Name": f"{name}-private-{az}", "kubernetes.io/role/internal-elb": "1",
                      DISCOVERY_TAG: name},
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
        self._endpoints(args, env.region, vpc, private_rts)
        self._flow_logs(args, vpc, env)

    def _endpoints(
        self, args: NetworkArgs, region: str, vpc: aws.ec2.Vpc, private_rts: list[aws.ec2.RouteTable]
    ) -> None:
        name = self._name
        # S3 and DynamoDB gateway endpoints are free: functions in the VPC reach their buckets and tables (RAG
        # ingestion leases) without a NAT (VPC user guide, "Gateway endpoints").
        for service in ("s3", "dynamodb"):
            self.egress.append(aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[rt.id for rt in private_rts],
                tags={"Name": f"{name}-{service}"},
                opts=self._opts(),
            ))
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

    def _flow_logs(self, args: NetworkArgs, vpc: aws.ec2.Vpc, env: Env) -> None:
        name = self._name
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            retention_in_days=args.flow_logs_retention_days,
            kms_key_id=env.key_arn,
            opts=self._opts(),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=pulumi.Output.from_input(env.account_id).apply(
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
