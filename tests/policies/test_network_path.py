"""`vpc-functions-reach-their-apis`: the network path from a function in a VPC to each AWS API its code calls.
Fixtures where each missing piece appears once; the calls come from the handlers' own code; the shipped stacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.aws_calls import handler_calls
from policies.rules.network_path import Node, unreachable
from tests.helpers import ROOT, plan_environment

VPC, FN_SG, EP_SG = "urn:vpc", "urn:sg:fn", "urn:sg:endpoints"
SUBNET, RT, ASSOC = "urn:subnet:a", "urn:rt:a", "urn:assoc:a"
PREFIX = {"s3": "pl-s3", "dynamodb": "pl-ddb"}


def _network(*, egress: list[dict], interface: tuple[str, ...] = (), gateways: tuple[str, ...] = (),
             gateway_tables: tuple[str, ...] = (RT,), endpoint_ingress: list[dict] | None = None,
             nat: bool = False) -> list[Node]:
    nodes = [
        Node(VPC, "aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16"}),
        Node(SUBNET, "aws:ec2/subnet:Subnet", "subnet", {}),
        Node(RT, "aws:ec2/routeTable:RouteTable", "rt", {}),
        Node(ASSOC, "aws:ec2/routeTableAssociation:RouteTableAssociation", "assoc", {},
             {"subnetId": frozenset({SUBNET}), "routeTableId": frozenset({RT})}),
        Node(FN_SG, "aws:ec2/securityGroup:SecurityGroup", "fn-sg", {"egress": egress},
             {"vpcId": frozenset({VPC})}),
        Node(EP_SG, "aws:ec2/securityGroup:SecurityGroup", "ep-sg", {"ingress": endpoint_ingress if endpoint_ingress
                                                                     is not None else [_https(cidr="10.0.0.0/16")]},
             {"vpcId": frozenset({VPC})}),
    ]
    nodes += [Node(f"urn:vpce:{s}", "aws:ec2/vpcEndpoint:VpcEndpoint", s, {
        "vpcEndpointType": "Interface", "serviceName": f"com.amazonaws.us-east-1.{s}", "privateDnsEnabled": True},
        {"securityGroupIds": frozenset({EP_SG})}) for s in interface]
    nodes += [Node(f"urn:gw:{s}", "aws:ec2/vpcEndpoint:VpcEndpoint", s, {
        "vpcEndpointType": "Gateway", "serviceName": f"com.amazonaws.us-east-1.{s}"},
        {"routeTableIds": frozenset(gateway_tables)}, {"prefixListId": PREFIX[s]}) for s in gateways]
    if nat:
        nodes.append(Node("urn:route", "aws:ec2/route:Route", "nat", {"destinationCidrBlock": "0.0.0.0/0",
                                                                     "natGatewayId": "nat-1"},
                          {"routeTableId": frozenset({RT})}))
    return nodes


def _https(cidr: str | None = None, prefix: str | None = None) -> dict:
    rule = {"protocol": "tcp", "fromPort": 443, "toPort": 443}
    if cidr:
        rule["cidrBlocks"] = [cidr]
    if prefix:
        rule["prefixListIds"] = [prefix]
    return rule


def _function(calls: str) -> Node:
    return Node("urn:fn", "aws:lambda/function:Function", "fn",
                {"vpcConfig": {"subnetIds": ["subnet-a"], "securityGroupIds": ["sg-fn"]},
                 "tags": {"mlplat:aws-calls": calls}}, {"vpcConfig": frozenset({SUBNET, FN_SG})})


def _missing(nodes: list[Node], calls: str) -> dict[str, list[str]]:
    return {service: missing for _, service, missing in unreachable([*nodes, _function(calls)])}


def test_each_path_carries_the_call_when_every_piece_is_there():
    to_vpc, to_ddb = _https(cidr="10.0.0.0/16"), _https(prefix="pl-ddb")
    assert _missing(_network(egress=[to_vpc], interface=("lambda",)), "lambda") == {}
    assert _missing(_network(egress=[to_ddb], gateways=("dynamodb",)), "dynamodb") == {}
    assert _missing(_network(egress=[_https(cidr="0.0.0.0/0")], nat=True), "sts") == {}


@pytest.mark.parametrize(("network", "service", "expected"), [
    (dict(egress=[_https(cidr="10.0.0.0/16")]), "lambda", "no interface endpoint for lambda in the VPC"),
    (dict(egress=[_https(cidr="192.168.0.0/16")], interface=("lambda",)), "lambda",
     "the function's security group allows no HTTPS out to the lambda endpoint"),
    (dict(egress=[_https(cidr="10.0.0.0/16")], interface=("lambda",), endpoint_ingress=[]), "lambda",
     "the lambda endpoint's security group admits no HTTPS from the function"),
    (dict(egress=[_https(prefix="pl-ddb")]), "dynamodb", "no gateway endpoint for dynamodb"),
    (dict(egress=[_https(prefix="pl-ddb")], gateways=("dynamodb",), gateway_tables=("urn:rt:other",)), "dynamodb",
     "the dynamodb gateway endpoint is not on the route tables of the function's subnets"),
    (dict(egress=[_https(prefix="pl-s3")], gateways=("dynamodb",)), "dynamodb",
     "the function's security group allows no HTTPS out to the dynamodb prefix list (pl-ddb)"),
    (dict(egress=[_https(cidr="0.0.0.0/0")]), "sts", "no NAT route (0.0.0.0/0) in the route tables"),
    (dict(egress=[_https(cidr="10.0.0.0/16")], nat=True), "sts",
     "the function's security group allows no HTTPS out to 0.0.0.0/0 (for the NAT route)"),
])
def test_each_missing_piece_is_named_once(network, service, expected):
    missing = _missing(_network(**network), service)
    assert list(missing) == [service]
    assert sum(expected in m for m in missing[service]) == 1, missing


def test_the_calls_are_read_from_the_handlers_own_code():
    rag = ROOT / "components/rag/handlers"
    assert handler_calls(rag, "ingest") == ("dynamodb", "s3", "sagemaker.runtime")
    assert handler_calls(rag, "query") == ("lambda", "s3", "sagemaker.runtime")
    assert "secretsmanager" in handler_calls(Path(ROOT / "components/live_chat/handlers"), "callback")


@pytest.mark.parametrize("stack", ("dev", "staging", "prod"))
@pytest.mark.parametrize("first_preview", (False, True))
def test_the_environments_functions_reach_every_api(stack, first_preview):
    plan = plan_environment(stack, first_preview=first_preview).plan
    assert [v["message"] for v in plan["policy"]["violations"] if v["policy"] == "vpc-functions-reach-their-apis"] == []
