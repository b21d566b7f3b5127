"""Network component: subnets per AZ, routes through NAT, endpoints, flow logs."""

from __future__ import annotations

import json

from tests.helpers import config, plan_config


def test_subnets_per_az_with_disjoint_cidrs(tmp_path):
    view = plan_config(tmp_path, config())
    subnets = view.of_type("aws:ec2/subnet:Subnet")
    assert sorted(s["name"] for s in subnets) == [
        "mlplat-dev-private-us-east-1a", "mlplat-dev-private-us-east-1b",
        "mlplat-dev-public-us-east-1a", "mlplat-dev-public-us-east-1b",
    ]
    cidrs = {s["name"]: s["inputs"]["cidrBlock"] for s in subnets}
    assert cidrs["mlplat-dev-private-us-east-1a"] == "10.0.0.0/19"
    assert cidrs["mlplat-dev-private-us-east-1b"] == "10.0.32.0/19"
    assert cidrs["mlplat-dev-public-us-east-1a"] == "10.0.224.0/22"
    for s in subnets:
        assert s["inputs"].get("mapPublicIpOnLaunch") in (None, False), s["urn"]
        role = "kubernetes.io/role/internal-elb" if "private" in s["name"] else "kubernetes.io/role/elb"
        assert s["inputs"]["tags"][role] == "1", s["urn"]


def test_private_routes_go_through_nat_single_in_dev(tmp_path):
    view = plan_config(tmp_path, config())
    nats = view.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 1
    for az in ("us-east-1a", "us-east-1b"):
        rt = view.get("aws:ec2/routeTable:RouteTable", f"mlplat-dev-private-rt-{az}")
        assert rt["inputs"]["routes"] == [{"cidrBlock": "0.0.0.0/0", "natGatewayId": nats[0]["id"]}], rt["urn"]
    public = view.get("aws:ec2/routeTable:RouteTable", "mlplat-dev-public-rt")
    igw = view.of_type("aws:ec2/internetGateway:InternetGateway")[0]
    assert public["inputs"]["routes"] == [{"cidrBlock": "0.0.0.0/0", "gatewayId": igw["id"]}]


def test_nat_per_az_in_prod(tmp_path):
    view = plan_config(tmp_path, config(environment="prod"))
    nats = view.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == 2
    rt_b = view.get("aws:ec2/routeTable:RouteTable", "mlplat-prod-private-rt-us-east-1b")
    nat_b = view.get("aws:ec2/natGateway:NatGateway", "mlplat-prod-nat-us-east-1b")
    assert rt_b["inputs"]["routes"][0]["natGatewayId"] == nat_b["id"]


def test_endpoints_s3_gateway_and_private_interfaces(tmp_path):
    view = plan_config(tmp_path, config())
    endpoints = {e["inputs"]["serviceName"]: e for e in view.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert set(endpoints) == {f"com.amazonaws.us-east-1.{s}" for s in
                              ("s3", "dynamodb", "ecr.api", "ecr.dkr", "sts", "logs", "sagemaker.api",
                               "sagemaker.runtime")}
    for gateway in ("s3", "dynamodb"):  # free: functions in the VPC reach S3 and their tables without a NAT
        endpoint = endpoints[f"com.amazonaws.us-east-1.{gateway}"]
        assert endpoint["inputs"]["vpcEndpointType"] == "Gateway"
        assert len(endpoint["inputs"]["routeTableIds"]) == 2
    private_ids = {s["id"] for s in view.of_type("aws:ec2/subnet:Subnet") if "private" in s["name"]}
    sts = endpoints["com.amazonaws.us-east-1.sts"]
    assert sts["inputs"]["privateDnsEnabled"] is True
    assert set(sts["inputs"]["subnetIds"]) == private_ids
    sg = view.get("aws:ec2/securityGroup:SecurityGroup", "mlplat-dev-endpoints")
    assert sg["inputs"]["ingress"][0]["fromPort"] == 443
    assert sg["inputs"]["ingress"][0]["cidrBlocks"] == ["10.0.0.0/16"]


def test_flow_logs_encrypted_with_retention(tmp_path):
    view = plan_config(tmp_path, config())
    group = view.get("aws:cloudwatch/logGroup:LogGroup", "mlplat-dev-flow-logs")
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")
    assert group["inputs"]["kmsKeyId"] == key["outputs"]["arn"]
    assert group["inputs"]["retentionInDays"] == 90
    flow = view.get("aws:ec2/flowLog:FlowLog", "mlplat-dev-flow-log")
    assert flow["inputs"]["trafficType"] == "ALL"
    assert flow["inputs"]["logDestination"] == group["outputs"]["arn"]
    policy = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-flow-logs")["inputs"]["policy"])
    assert policy["Statement"][0]["Resource"] == [group["outputs"]["arn"], group["outputs"]["arn"] + ":*"]


def test_existing_vpc_creates_no_network_resources(tmp_path):
    net = {
        "availabilityZones": ["us-east-1a", "us-east-1b"],
        "existing": {"vpcId": "vpc-0123456789abcdef0", "vpcCidr": "10.1.0.0/16",
                     "privateSubnetIds": {"us-east-1a": "subnet-0123456789abcdef0",
                                          "us-east-1b": "subnet-0123456789abcdef1"}},
    }
    view = plan_config(tmp_path, config(network=net))
    assert view.of_type("aws:ec2/vpc:Vpc") == []
    assert view.of_type("aws:ec2/subnet:Subnet") == []
    assert view.outputs["vpcId"] == "vpc-0123456789abcdef0"
    assert view.outputs["privateSubnetIds"]["us-east-1b"] == "subnet-0123456789abcdef1"


def test_network_from_another_stack(tmp_path):
    net = {"availabilityZones": ["us-east-1a", "us-east-1b"], "fromStack": "acme/ml-platform-network/prod"}
    view = plan_config(tmp_path, config(network=net))
    (ref,) = view.of_type("pulumi:pulumi:StackReference")
    assert ref["inputs"]["name"] == "acme/ml-platform-network/prod"
    assert view.of_type("aws:ec2/vpc:Vpc") == []
    layer = ref["outputs"]["outputs"]
    assert view.outputs["vpcId"] == layer["vpcId"]
    assert view.outputs["privateSubnetIds"] == {az: layer["privateSubnetIds"][az]
                                                         for az in ("us-east-1a", "us-east-1b")}


def test_egress_dependencies_reach_node_groups(tmp_path):
    cluster = {"enabled": True, "publicAccessCidrs": ["198.51.100.0/24"],
               "nodeGroups": [{"name": "g", "instanceType": "g5.xlarge", "availabilityZone": "us-east-1a",
                               "maxSize": 1}]}
    view = plan_config(tmp_path, config(gpuCluster=cluster))
    nat = view.of_type("aws:ec2/natGateway:NatGateway")[0]
    sts = view.get("aws:ec2/vpcEndpoint:VpcEndpoint", "mlplat-dev-sts")
    for ng in view.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert nat["urn"] in ng["dependencies"] and sts["urn"] in ng["dependencies"], ng["urn"]


def test_flow_log_role_trust_is_scoped_to_the_account(tmp_path):
    view = plan_config(tmp_path, config())
    trust = json.loads(view.get("aws:iam/role:Role", "mlplat-dev-flow-logs")["inputs"]["assumeRolePolicy"])
    statement = trust["Statement"][0]
    assert statement["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
