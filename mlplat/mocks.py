"""Mock outputs that look like AWS: ids and ARNs in each service's format, answers to invokes.

Everything is derived from the resource URN so that two runs of the same stack print the same plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

ACCOUNT_ID = "123456789012"
#: The SDK's and engine's marker for a value not known during preview (`pulumi.runtime.rpc.UNKNOWN`).
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
PARTITION = "aws"


def _hex(seed: str, length: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _uuid(seed: str) -> str:
    h = _hex(seed, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


#: Type token -> id prefix for EC2-style ids (`vpc-0123...`).
_EC2_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
    "aws:ec2/flowLog:FlowLog": "fl",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr",
    "aws:ec2/placementGroup:PlacementGroup": "pg",
    "aws:fsx/lustreFileSystem:LustreFileSystem": "fs",
}

#: Types whose physical name Pulumi generates (`<logical>-<7 hex>`) when the program sets none,
#: mapped to the property holding it.
_AUTONAMED = {
    "aws:iam/role:Role": "name",
    "aws:iam/policy:Policy": "name",
    "aws:iam/rolePolicy:RolePolicy": "name",
    "aws:iam/instanceProfile:InstanceProfile": "name",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:ec2/securityGroup:SecurityGroup": "name",
    "aws:ec2/launchTemplate:LaunchTemplate": "name",
    "aws:ec2/placementGroup:PlacementGroup": "name",
    "aws:eks/cluster:Cluster": "name",
    "aws:eks/nodeGroup:NodeGroup": "nodeGroupName",
    "aws:lambda/function:Function": "name",
    "aws:dynamodb/table:Table": "name",
    "aws:secretsmanager/secret:Secret": "name",
    "aws:sqs/queue:Queue": "name",
    "aws:sagemaker/model:Model": "name",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": "name",
    "aws:sagemaker/endpoint:Endpoint": "name",
    "aws:apigatewayv2/api:Api": "name",
    "aws:apigateway/restApi:RestApi": "name",
    "aws:scheduler/schedule:Schedule": "name",
    "aws:cloudwatch/eventRule:EventRule": "name",
    "aws-native:sagemaker:EndpointConfig": "endpointConfigName",
}


class PlatformMocks(pulumi.runtime.Mocks):
    """Answers the mock monitor: computed outputs per resource type and invokes the program uses."""

    def __init__(self, region: str, availability_zones: list[str] | None = None,
                 custom_models: list[str] | None = None, identity_center: bool = True) -> None:
        self.region = region
        self.availability_zones = availability_zones or [f"{region}{s}" for s in "abcdef"]
        #: Names of Bedrock custom models whose training completed (a fresh account has none).
        self.custom_models = list(custom_models or [])
        #: Whether the region has an IAM Identity Center instance.
        self.identity_center = identity_center

    # -- resources ---------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        typ, name, inputs = args.typ, args.name, dict(args.inputs)
        seed = f"{typ}::{name}"
        if typ.startswith("pulumi:providers:"):
            return _uuid(seed), inputs
        if typ == "pulumi:pulumi:StackReference":
            return inputs.get("name", name), {"name": inputs.get("name"), "outputs": self._layer_outputs(seed),
                                              "secretOutputNames": []}
        if not args.custom:
            return "", {}
        state = dict(inputs)
        name_prop = _AUTONAMED.get(typ)
        if name_prop and not state.get(name_prop):
            prefix = state.get("namePrefix") or state.get(f"{name_prop}Prefix") or f"{name}-"
            state[name_prop] = f"{prefix}{_hex(seed, 7)}"
        phys = state.get(name_prop) if name_prop else None
        rid = self._id(typ, seed, phys, state)
        state.update(self._computed(typ, seed, rid, phys, state))
        return rid, state

    def _layer_outputs(self, seed: str) -> dict[str, Any]:
        """What a network layer stack exports (the outputs this program itself exports)."""
        azs = self.availability_zones
        return {
            "vpcId": f"vpc-{_hex(seed, 17)}",
            "vpcCidr": "10.0.0.0/16",
            "privateSubnetIds": {az: f"subnet-{_hex(seed + az + 'p', 17)}" for az in azs},
            "publicSubnetIds": {az: f"subnet-{_hex(seed + az + 'u', 17)}" for az in azs},
        }

    def _arn(self, service: str, resource: str, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{PARTITION}:{service}:{self.region if region else ''}:{ACCOUNT_ID if account else ''}:{resource}"
        )

    def _id(self, typ: str, seed: str, phys: str | None, state: dict) -> str:
        if typ in _EC2_PREFIX:
            return f"{_EC2_PREFIX[typ]}-{_hex(seed, 17)}"
        if typ == "aws:kms/key:Key":
            return _uuid(seed)
        if typ == "aws:opensearch/serverlessVpcEndpoint:ServerlessVpcEndpoint":
            return f"vpce-{_hex(seed, 17)}"
        if typ == "aws:opensearch/serverlessCollection:ServerlessCollection":
            return _hex(seed, 20)
        if typ == "aws:sagemaker/domain:Domain":
            return f"d-{_hex(seed, 12)}"
        if typ in ("aws:apigatewayv2/api:Api", "aws:apigateway/restApi:RestApi", "aws-native:lex:Bot"):
            return _hex(seed, 10)
        if typ in ("aws:identitystore/user:User", "aws:identitystore/group:Group"):
            return f"{state.get('identityStoreId')}/{_uuid(seed)}"
        if typ == "pulumi-python:dynamic:Resource":
            return str(state.get("application_arn") or _hex(seed, 20))
        if typ == "aws:kms/alias:Alias":
            return state.get("name", f"alias/{_hex(seed, 8)}")
        if typ == "aws:eks/nodeGroup:NodeGroup":
            return f"{state.get('clusterName', 'cluster')}:{phys}"
        if typ == "aws:iam/policy:Policy":
            return self._arn("iam", f"policy/{phys}", region=False)
        if typ == "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            return f"{state.get('role')}-{_hex(seed, 8)}"
        if phys:
            return phys
        return _hex(seed, 20)

    def _computed(self, typ: str, seed: str, rid: str, phys: str | None, state: dict) -> dict[str, Any]:
        """The outputs AWS computes for a new resource of `typ` (COMPUTED: one function per type)."""
        computed = COMPUTED.get(typ)
        if computed is not None:
            return computed(_New(self, typ, seed, rid, phys, state))
        if "arn" not in state and typ.startswith("aws:"):
            service = typ.split(":")[1].split("/")[0]
            return {"arn": self._arn(service, f"{typ.rsplit(':', 1)[1].lower()}/{phys or rid}")}
        return {}

    # -- invokes -----------------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        tok = args.token
        if tok == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/platform-deployer",
                    "userId": "AROAEXAMPLEDEPLOYER:mlplat", "id": ACCOUNT_ID}
        if tok == "aws:index/getPartition:getPartition":
            return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION,
                    "reverseDnsPrefix": "com.amazonaws"}
        if tok == "aws:ssoadmin/getInstances:getInstances":
            if not self.identity_center:
                return {"arns": [], "identityStoreIds": [], "id": self.region}
            return {"arns": [f"arn:aws:sso:::instance/ssoins-{_hex('sso', 16)}"],
                    "identityStoreIds": [f"d-{_hex('idstore', 10)}"], "id": self.region}
        if tok == "aws:identitystore/getUser:getUser":
            value = args.args["alternateIdentifier"]["uniqueAttribute"]["attributeValue"]
            return {"id": _uuid(f"user:{value}"), "userId": _uuid(f"user:{value}"), "userName": value,
                    "identityStoreId": args.args["identityStoreId"]}
        if tok == "aws:identitystore/getGroup:getGroup":
            value = args.args["alternateIdentifier"]["uniqueAttribute"]["attributeValue"]
            return {"id": _uuid(f"group:{value}"), "groupId": _uuid(f"group:{value}"), "displayName": value,
                    "identityStoreId": args.args["identityStoreId"]}
        if tok == "aws:bedrock/getCustomModels:getCustomModels":
            return {"id": self.region, "region": self.region, "modelSummaries": [
                {"modelName": m, "modelArn": self._arn("bedrock", f"custom-model/amazon.titan-image-generator-v1:0/"
                                                                  f"{_hex(m, 12)}"),
                 "creationTime": "2026-11-01T00:00:00Z"} for m in self.custom_models]}
        if tok == "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            name = args.args.get("name", "")
            pl = f"pl-{_hex(name, 8)}"
            return {"id": pl, "name": name, "arn": self._arn("ec2", f"prefix-list/{pl}", account=False),
                    "addressFamily": "IPv4", "maxEntries": 0, "ownerId": "AWS", "version": 1, "region": self.region,
                    "entries": [{"cidr": "3.5.0.0/19", "description": ""}], "filters": [], "tags": {}}
        if tok == "aws:eks/getAddonVersion:getAddonVersion":
            # The catalog's pin stands in for the API's default version (components/eks_addons.py).
            from components.catalog.versions import addon_version

            version = addon_version(args.args["kubernetesVersion"], args.args["addonName"])
            return {"id": args.args["addonName"], "addonName": args.args["addonName"],
                    "kubernetesVersion": args.args["kubernetesVersion"], "version": version}
        if tok == "aws:secretsmanager/getSecret:getSecret":
            name = args.args.get("name") or args.args.get("arn", "").rsplit(":", 1)[-1]
            return {"id": name, "name": name, "arn": self._arn("secretsmanager", f"secret:{name}-{_hex(name, 6)}")}
        raise NotImplementedError(
            f"the offline engine has no answer for invoke {tok} ({json.dumps(args.args, default=str)[:200]}); "
            "add one to mlplat/mocks.py"
        )



class FirstPreviewMocks(PlatformMocks):
    """Answers as a first `pulumi preview` of a new stack does: nothing exists yet.

    For a resource to be created, the provider's preview returns the inputs it checked (generated names
    included: the provider's Check fills them during preview) and marks every other output unknown, with
    no id. The SDK then treats each such output as unknown, and so is every value the program builds
    from one (`apply` does not run on an unknown), exactly as under the real engine. Look-ups (invokes),
    stack references and providers are answered as usual: they are known during a preview.
    """

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        rid, state = super().new_resource(args)
        typ = args.typ
        if not args.custom or typ.startswith("pulumi:providers:") or typ == "pulumi:pulumi:StackReference":
            return rid, state
        known = dict(args.inputs)
        name_prop = _AUTONAMED.get(typ)
        if name_prop and name_prop in state:
            known[name_prop] = state[name_prop]
        return "", {k: known.get(k, UNKNOWN_SENTINEL) for k in state}


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
