"""Can every function in a VPC reach each AWS API its code calls? The judge follows the path a packet takes.

A Lambda function attached to a VPC has no route to AWS APIs of its own (Lambda developer guide, "Giving Lambda
functions access to resources in an Amazon VPC": internet and AWS service access need a NAT gateway or VPC
endpoints). For each API the function calls (its `mlplat:aws-calls` tag, read from its code by
components/aws_calls.py), one of these must hold, from its subnets and security groups:
- an **interface endpoint** for the service in its VPC with private DNS, the function's security group allowing HTTPS
  out to it (the VPC CIDR or the endpoint's group) and the endpoint's group admitting HTTPS from the function (VPC
  user guide, "Access an AWS service using an interface VPC endpoint"; an OpenSearch Serverless VPC endpoint the same);
- a **gateway endpoint** (S3, DynamoDB) on the route tables of the function's subnets, with the service's prefix
  list allowed out (VPC user guide, "Gateway endpoints": "security groups must allow traffic to the prefix list");
- a **NAT route** (0.0.0.0/0 to a NAT gateway) in those route tables, with HTTPS out to 0.0.0.0/0 allowed.
Otherwise the call times out. Relations between resources are read from the engine's property dependencies, so the
judge also runs on a first preview, where ids are unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from policies.rules.base import Rule
from policies.rules.placement import plain

CALLS_TAG = "mlplat:aws-calls"
AOSS_ENDPOINT = "aws:opensearch/serverlessVpcEndpoint:ServerlessVpcEndpoint"
GATEWAY_SERVICES = ("s3", "dynamodb")
ANYWHERE = "0.0.0.0/0"
HTTPS = 443


@dataclass(frozen=True)
class Node:
    urn: str
    type: str
    name: str
    props: Mapping[str, Any]
    pdeps: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: Outputs the provider computes (a gateway endpoint's prefix list); the props where they are the same.
    outputs: Mapping[str, Any] = field(default_factory=dict)

    def refs(self, prop: str, typ: str, nodes: Mapping[str, Node]) -> list[Node]:
        return [nodes[u] for u in self.pdeps.get(prop, ()) if u in nodes and nodes[u].type == typ]


def _https(rule: Mapping[str, Any], port: str = "Port") -> bool:
    protocol = str(rule.get("protocol", rule.get("ipProtocol", "")))
    if protocol in ("-1", "all"):
        return True
    low, high = rule.get(f"from{port}"), rule.get(f"to{port}")
    return protocol == "tcp" and isinstance(low, int | float) and isinstance(high, int | float) and low <= HTTPS <= high


@dataclass
class Rules:
    """HTTPS destinations (egress) or sources (ingress) a set of security groups allows."""

    cidrs: set[str] = field(default_factory=set)
    prefix_lists: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)  # security group URNs
    any_prefix_list: bool = False  # a prefix list whose id is unknown during preview


def _rules(groups: list[Node], nodes: Mapping[str, Node], direction: str) -> Rules:
    out = Rules()
    standalone = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule" if direction == "egress" else \
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    urns = {g.urn for g in groups}
    for group in groups:
        for rule in group.props.get(direction) or []:
            if isinstance(rule, Mapping) and _https(rule):
                out.cidrs.update(c for c in rule.get("cidrBlocks") or [] if isinstance(c, str))
                lists = [p for p in rule.get("prefixListIds") or []]
                out.prefix_lists.update(p for p in lists if isinstance(p, str))
                out.any_prefix_list |= any(not isinstance(p, str) for p in lists)
                if rule.get("securityGroups") or rule.get("self"):
                    out.groups.update(u for u in group.pdeps.get(direction, ()) if u in nodes
                                      and nodes[u].type == "aws:ec2/securityGroup:SecurityGroup")
                    if rule.get("self"):
                        out.groups.add(group.urn)
    for rule in (n for n in nodes.values() if n.type == standalone):
        if not rule.pdeps.get("securityGroupId", frozenset()) & urns or not _https(rule.props):
            continue
        if isinstance(rule.props.get("cidrIpv4"), str):
            out.cidrs.add(rule.props["cidrIpv4"])
        if rule.props.get("prefixListId") is not None:
            if isinstance(rule.props["prefixListId"], str):
                out.prefix_lists.add(rule.props["prefixListId"])
            else:
                out.any_prefix_list = True
        out.groups.update(rule.pdeps.get("referencedSecurityGroupId", ()))
    return out


def _vpc_cidr(groups: list[Node], nodes: Mapping[str, Node]) -> str | None:
    for group in groups:
        for vpc in group.refs("vpcId", "aws:ec2/vpc:Vpc", nodes):
            if isinstance(vpc.props.get("cidrBlock"), str):
                return vpc.props["cidrBlock"]
    return None


def _interface_path(service: str, fn_groups: list[Node], egress: Rules, vpc_cidr: str | None,
                    nodes: Mapping[str, Node]) -> str | None:
    """None when an interface endpoint carries the call, else what is missing."""
    if service == "aoss":
        endpoints = [n for n in nodes.values() if n.type == AOSS_ENDPOINT]
    else:
        endpoints = [n for n in nodes.values() if n.type == "aws:ec2/vpcEndpoint:VpcEndpoint"
                     and n.props.get("vpcEndpointType") == "Interface"
                     and str(n.props.get("serviceName", "")).endswith(f".{service}")
                     and n.props.get("privateDnsEnabled") is not False]
    if not endpoints:
        return f"no interface endpoint for {service} in the VPC"
    fn_urns = {g.urn for g in fn_groups}
    for endpoint in endpoints:
        groups = endpoint.refs("securityGroupIds", "aws:ec2/securityGroup:SecurityGroup", nodes)
        out_ok = ANYWHERE in egress.cidrs or (vpc_cidr in egress.cidrs) or bool({g.urn for g in groups} & egress.groups)
        ingress = _rules(groups, nodes, "ingress")
        in_ok = ANYWHERE in ingress.cidrs or vpc_cidr in ingress.cidrs or bool(fn_urns & ingress.groups)
        if out_ok and in_ok:
            return None
        if not out_ok:
            return (f"the function's security group allows no HTTPS out to the {service} endpoint (VPC CIDR or its "
                    "group)")
        return f"the {service} endpoint's security group admits no HTTPS from the function"
    return None


def _route_tables(subnets: list[Node], nodes: Mapping[str, Node]) -> dict[str, set[str]]:
    """Subnet URN -> the route tables associated with it."""
    tables: dict[str, set[str]] = {s.urn: set() for s in subnets}
    for assoc in (n for n in nodes.values() if n.type == "aws:ec2/routeTableAssociation:RouteTableAssociation"):
        for subnet in assoc.pdeps.get("subnetId", ()):
            if subnet in tables:
                tables[subnet] |= set(assoc.pdeps.get("routeTableId", ()))
    return tables


def _gateway_path(service: str, tables: dict[str, set[str]], egress: Rules, nodes: Mapping[str, Node]) -> str | None:
    endpoints = [n for n in nodes.values() if n.type == "aws:ec2/vpcEndpoint:VpcEndpoint"
                 and n.props.get("vpcEndpointType") == "Gateway"
                 and str(n.props.get("serviceName", "")).endswith(f".{service}")]
    if not endpoints:
        return f"no gateway endpoint for {service}"
    for endpoint in endpoints:
        covered = set(endpoint.pdeps.get("routeTableIds", ()))
        if any(not rts or not rts & covered for rts in tables.values()):
            continue
        prefix_list = endpoint.outputs.get("prefixListId")
        if ANYWHERE in egress.cidrs or prefix_list in egress.prefix_lists or (
                not isinstance(prefix_list, str) and (egress.prefix_lists or egress.any_prefix_list)):
            return None
        return f"the function's security group allows no HTTPS out to the {service} prefix list ({prefix_list})"
    return f"the {service} gateway endpoint is not on the route tables of the function's subnets"


def _nat_path(tables: dict[str, set[str]], egress: Rules, nodes: Mapping[str, Node]) -> str | None:
    nat_tables = set()
    for route in (n for n in nodes.values() if n.type == "aws:ec2/route:Route"):
        if route.props.get("destinationCidrBlock") == ANYWHERE and (
                route.props.get("natGatewayId") is not None or route.pdeps.get("natGatewayId")):
            nat_tables |= set(route.pdeps.get("routeTableId", ()))
    for table in (n for n in nodes.values() if n.type == "aws:ec2/routeTable:RouteTable"):
        if any(isinstance(r, Mapping) and r.get("cidrBlock") == ANYWHERE and r.get("natGatewayId") is not None
               for r in table.props.get("routes") or []):
            nat_tables.add(table.urn)
    if any(not rts & nat_tables for rts in tables.values()):
        return "no NAT route (0.0.0.0/0) in the route tables of the function's subnets"
    if ANYWHERE not in egress.cidrs:
        return "the function's security group allows no HTTPS out to 0.0.0.0/0 (for the NAT route)"
    return None


def unreachable(nodes_list: Iterable[Node]) -> list[tuple[Node, str, list[str]]]:
    """(function, service, what each path lacks) for every call of a VPC function that has no path."""
    nodes = {n.urn: n for n in nodes_list}
    out = []
    for fn in (n for n in nodes.values() if n.type == "aws:lambda/function:Function"):
        config, tags = fn.props.get("vpcConfig"), fn.props.get("tags") or {}
        calls = tags.get(CALLS_TAG) if isinstance(tags, Mapping) else None
        if not isinstance(config, Mapping) or not isinstance(calls, str):
            continue
        subnets = fn.refs("vpcConfig", "aws:ec2/subnet:Subnet", nodes)
        groups = fn.refs("vpcConfig", "aws:ec2/securityGroup:SecurityGroup", nodes)
        if not subnets or not groups:
            continue  # a network made elsewhere: its routes are not in the plan
        egress, tables, cidr = _rules(groups, nodes, "egress"), _route_tables(subnets, nodes), _vpc_cidr(groups, nodes)
        for service in calls.split():
            missing = [_interface_path(service, groups, egress, cidr, nodes)]
            if service in GATEWAY_SERVICES:
                missing.append(_gateway_path(service, tables, egress, nodes))
            if service != "aoss":
                missing.append(_nat_path(tables, egress, nodes))
            if all(m is not None for m in missing):
                out.append((fn, service, [m for m in missing if m]))
    return out


def plan_nodes(resources: Iterable[Mapping[str, Any]]) -> list[Node]:
    return [Node(r["urn"], r["type"], r["name"], r.get("inputs") or {},
                 {k: frozenset(v) for k, v in (r.get("propertyDependencies") or {}).items()},
                 r.get("outputs") or {}) for r in resources]


def _nodes(args: StackValidationArgs) -> list[Node]:
    out = []
    for r in args.resources:
        props = plain(r.props)
        out.append(Node(r.urn, r.resource_type, r.name, props if isinstance(props, Mapping) else {},
                        {k: frozenset(d.urn for d in v) for k, v in (r.property_dependencies or {}).items()},
                        props if isinstance(props, Mapping) else {}))
    return out


def _reach(args: StackValidationArgs, report: ReportViolation) -> None:
    for fn, service, missing in unreachable(_nodes(args)):
        report(f"function {fn.name} calls {service} but has no network path to it: " + "; ".join(missing), fn.urn)


REACH = Rule(
    "vpc-functions-reach-their-apis",
    "Every function in a VPC has a path to each AWS API its code calls: an interface endpoint its security groups "
    "allow, a gateway endpoint on its route tables with the prefix list allowed, or a NAT route with HTTPS out.",
    severity=Severity.HIGH,
    remediation="Add the endpoint the function needs (network.interfaceEndpoints, the gateway endpoints of "
                "components/network) or a NAT route, and allow HTTPS to it in the function's security group.",
    url="https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html",
).stack(_reach)

NETWORK_POLICIES = [REACH]
