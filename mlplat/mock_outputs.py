"""What AWS computes when it creates a resource: ids and ARNs in each service's own format, one function per
resource type (`COMPUTED`), for the mock engine (mlplat/mocks.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ACCOUNT_ID = "123456789012"
PARTITION = "aws"


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _uuid(seed: str) -> str:
    h = _hex(seed, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass(frozen=True)
class _New:
    """A resource being created: what its computed outputs are made from."""

    mocks: Any
    typ: str
    seed: str
    rid: str
    phys: str | None
    state: dict

    def arn(self, service: str, resource: str, **kwargs: Any) -> str:
        return self.mocks._arn(service, resource, **kwargs)

    @property
    def region(self) -> str:
        return self.mocks.region


_EC2_KINDS = {"aws:ec2/subnet:Subnet": "subnet", "aws:ec2/securityGroup:SecurityGroup": "security-group",
              "aws:ec2/launchTemplate:LaunchTemplate": "launch-template", "aws:ec2/natGateway:NatGateway": "natgateway",
              "aws:ec2/internetGateway:InternetGateway": "internet-gateway",
              "aws:ec2/routeTable:RouteTable": "route-table", "aws:ec2/vpcEndpoint:VpcEndpoint": "vpc-endpoint",
              "aws:ec2/placementGroup:PlacementGroup": "placement-group"}


def _ec2(n: _New) -> dict[str, Any]:
    out: dict[str, Any] = {"arn": n.arn("ec2", f"{_EC2_KINDS[n.typ]}/{n.rid}"), "ownerId": ACCOUNT_ID}
    if n.typ == "aws:ec2/launchTemplate:LaunchTemplate":
        out.update({"latestVersion": 1, "defaultVersion": 1})
    if n.typ == "aws:ec2/placementGroup:PlacementGroup":
        out["placementGroupId"] = f"pg-{_hex(n.seed, 17)}"
    if n.typ == "aws:ec2/vpcEndpoint:VpcEndpoint" and n.state.get("vpcEndpointType") == "Gateway":
        # A gateway endpoint's prefix list is the service's AWS-managed one (VPC user guide, gateway endpoints): the
        # same id the getManagedPrefixList look-up answers.
        out["prefixListId"] = f"pl-{_hex(str(n.state.get('serviceName', '')), 8)}"
    return out


def _eks_cluster(n: _New) -> dict[str, Any]:
    oidc = _hex(n.seed, 32).upper()
    return {
        "arn": n.arn("eks", f"cluster/{n.phys}"),
        "endpoint": f"https://{oidc}.gr7.{n.region}.eks.amazonaws.com",
        "certificateAuthority": {"data": "LS0tLS1CRUdJTi1NT0NLLUNBLS0tLS0="},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{n.region}.amazonaws.com/id/{oidc}"}]}],
        "platformVersion": "eks.1",
        "status": "ACTIVE",
        "vpcConfig": {**(n.state.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{_hex(n.seed + 'c', 17)}",
                      "vpcId": f"vpc-{_hex(n.seed + 'v', 17)}"},
    }


def _sagemaker_domain(n: _New) -> dict[str, Any]:
    return {"arn": n.arn("sagemaker", f"domain/{n.rid}"), "url": f"https://{n.rid}.studio.{n.region}.sagemaker.aws",
            "homeEfsFileSystemId": f"fs-{_hex(n.seed, 17)}",
            "singleSignOnApplicationArn": f"arn:aws:sso::{ACCOUNT_ID}:application/ssoins-{_hex('sso', 16)}/"
                                          f"apl-{_hex(n.seed, 16)}",
            "securityGroupIdForDomainBoundary": f"sg-{_hex(n.seed + 'b', 17)}"}


def _stage(n: _New) -> dict[str, Any]:
    api, stage = n.state.get("restApi", "api"), n.state.get("stageName")
    return {"invokeUrl": f"https://{api}.execute-api.{n.region}.amazonaws.com/{stage}",
            "arn": n.arn("apigateway", f"/restapis/{api}/stages/{stage}", account=False)}


def _function(n: _New) -> dict[str, Any]:
    arn = n.arn("lambda", f"function:{n.phys}")
    invoke = f"arn:aws:apigateway:{n.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    return {"arn": arn, "invokeArn": invoke, "qualifiedArn": f"{arn}:$LATEST", "version": "$LATEST"}


def _collection(n: _New) -> dict[str, Any]:
    collection_id = _hex(n.seed, 20)
    return {"arn": n.arn("aoss", f"collection/{collection_id}"),
            "collectionEndpoint": f"https://{collection_id}.{n.region}.aoss.amazonaws.com",
            "dashboardEndpoint": f"https://{collection_id}.{n.region}.aoss.amazonaws.com/_dashboards"}


def _inference_component(n: _New) -> dict[str, Any]:
    name = f"{n.seed.rsplit('::', 1)[-1]}-{_hex(n.seed, 8)}"[:63]
    return {"inferenceComponentName": n.state.get("inferenceComponentName") or name,
            "inferenceComponentArn": n.arn("sagemaker", f"inference-component/{name}"),
            "inferenceComponentStatus": "InService"}


def _bot_alias(n: _New) -> dict[str, Any]:
    alias = _hex(n.seed, 10).upper()
    return {"botAliasId": alias, "arn": n.arn("lex", f"bot-alias/{n.state.get('botId')}/{alias}")}


#: Resource type -> the outputs AWS computes when it creates one (ids and ARNs in the services' own formats).
COMPUTED: dict[str, Callable[[_New], dict[str, Any]]] = {
    "aws:kms/key:Key": lambda n: {"arn": n.arn("kms", f"key/{n.rid}"), "keyId": n.rid},
    "aws:kms/alias:Alias": lambda n: {"arn": n.arn("kms", n.rid),
                                      "targetKeyArn": n.arn("kms", f"key/{n.state.get('targetKeyId')}")},
    "aws:ec2/vpc:Vpc": lambda n: {"arn": n.arn("ec2", f"vpc/{n.rid}"), "ownerId": ACCOUNT_ID,
                                  "defaultSecurityGroupId": f"sg-{_hex(n.seed + 'd', 17)}",
                                  "mainRouteTableId": f"rtb-{_hex(n.seed + 'm', 17)}"},
    **{t: _ec2 for t in _EC2_KINDS},
    "aws:ec2/eip:Eip": lambda n: {"allocationId": n.rid, "publicIp": f"203.0.113.{int(_hex(n.seed, 4), 16) % 250 + 1}"},
    "aws:iam/role:Role": lambda n: {
        "arn": n.arn("iam", f"role/{n.state.get('path', '/').lstrip('/')}{n.phys}", region=False),
        "uniqueId": f"AROA{_hex(n.seed, 17).upper()}"},
    "aws:iam/policy:Policy": lambda n: {"arn": n.rid, "policyId": f"ANPA{_hex(n.seed, 17).upper()}"},
    "aws:iam/instanceProfile:InstanceProfile": lambda n: {
        "arn": n.arn("iam", f"instance-profile/{n.phys}", region=False)},
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda n: {"arn": n.arn(
        "iam", f"oidc-provider/{str(n.state.get('url', '')).removeprefix('https://')}", region=False)},
    "aws:cloudwatch/logGroup:LogGroup": lambda n: {"arn": n.arn("logs", f"log-group:{n.phys}")},
    # Rules on the default bus: rule/<name>.
    "aws:cloudwatch/eventRule:EventRule": lambda n: {"arn": n.arn("events", f"rule/{n.phys}")},
    **{t: (lambda n: {"arn": f"arn:{PARTITION}:s3:::{n.phys}", "region": n.region,
                      "bucketRegionalDomainName": f"{n.phys}.s3.{n.region}.amazonaws.com"})
       for t in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")},
    "aws:fsx/lustreFileSystem:LustreFileSystem": lambda n: {
        "arn": n.arn("fsx", f"file-system/{n.rid}"), "dnsName": f"{n.rid}.fsx.{n.region}.amazonaws.com",
        "mountName": _hex(n.seed + "m", 8)},
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": lambda n: {
        "arn": n.arn("eks", f"nodegroup/{n.state.get('clusterName')}/{n.phys}/{_uuid(n.seed)}"), "status": "ACTIVE",
        "resources": [{"autoscalingGroups": [{"name": f"eks-{n.phys}-{_uuid(n.seed)}"}]}]},
    **{t: (lambda n: {"arn": n.arn("eks", f"{n.typ.split('/')[1].split(':')[0].lower()}/"
                                          f"{n.state.get('clusterName')}/{_uuid(n.seed)}")})
       for t in ("aws:eks/addon:Addon", "aws:eks/accessEntry:AccessEntry",
                 "aws:eks/podIdentityAssociation:PodIdentityAssociation")},
    "aws:sagemaker/domain:Domain": _sagemaker_domain,
    "aws:identitystore/user:User": lambda n: {"userId": n.rid.split("/")[-1]},
    "aws:identitystore/group:Group": lambda n: {"groupId": n.rid.split("/")[-1]},
    "aws:apigatewayv2/api:Api": lambda n: {"arn": n.arn("apigateway", f"/apis/{n.rid}", account=False),
                                           "executionArn": n.arn("execute-api", n.rid),
                                           "apiEndpoint": f"wss://{n.rid}.execute-api.{n.region}.amazonaws.com"},
    "aws:apigateway/restApi:RestApi": lambda n: {"arn": n.arn("apigateway", f"/restapis/{n.rid}", account=False),
                                                 "rootResourceId": _hex(n.seed, 10),
                                                 "executionArn": n.arn("execute-api", n.rid)},
    "aws:apigateway/stage:Stage": _stage,
    "aws:apigateway/apiKey:ApiKey": lambda n: {"value": _hex(n.seed + "key", 40),
                                               "arn": n.arn("apigateway", f"/apikeys/{n.rid}", account=False)},
    "aws:lambda/function:Function": _function,
    "aws:dynamodb/table:Table": lambda n: {"arn": n.arn("dynamodb", f"table/{n.phys}"), "streamArn": ""},
    "aws:sqs/queue:Queue": lambda n: {"arn": n.arn("sqs", n.phys),
                                      "url": f"https://sqs.{n.region}.amazonaws.com/{ACCOUNT_ID}/{n.phys}"},
    "aws:scheduler/schedule:Schedule": lambda n: {"arn": n.arn("scheduler", f"schedule/default/{n.phys}")},
    "aws:secretsmanager/secret:Secret": lambda n: {"arn": n.arn("secretsmanager",
                                                                f"secret:{n.phys}-{_hex(n.seed, 6)}")},
    "aws:opensearch/serverlessCollection:ServerlessCollection": _collection,
    "aws:opensearch/serverlessVpcEndpoint:ServerlessVpcEndpoint": lambda n: {"name": n.state.get("name")},
    "aws-native:sagemaker:InferenceComponent": _inference_component,
    "aws-native:lex:Bot": lambda n: {"id": n.rid, "arn": n.arn("lex", f"bot/{n.rid}")},
    "aws-native:lex:BotVersion": lambda n: {"botVersion": "1"},
    "aws-native:lex:BotAlias": _bot_alias,
    "pulumi-python:dynamic:Resource": lambda n: {"applied": True, "message": ""},
    "aws-native:sagemaker:EndpointConfig": lambda n: {"endpointConfigArn": n.arn("sagemaker",
                                                                                 f"endpoint-config/{n.phys}")},
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": lambda n: {
        "arn": n.arn("sagemaker", f"endpoint-config/{n.phys}")},
}
