"""Mock outputs that look like AWS: ids and ARNs in each service's format, answers to invokes.

Everything is derived from the resource URN so that two runs of the same stack print the same plan.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi

from mlplat.mock_outputs import ACCOUNT_ID, COMPUTED, PARTITION, _hex, _New, _uuid

#: The SDK's and engine's marker for a value not known during preview (`pulumi.runtime.rpc.UNKNOWN`).
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


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
                 custom_models: list[str] | None = None, identity_center: bool = True,
                 answers: dict[str, dict[str, Any]] | None = None) -> None:
        self.region = region
        self.availability_zones = availability_zones or [f"{region}{s}" for s in "abcdef"]
        #: Names of Bedrock custom models whose training completed (a fresh account has none).
        self.custom_models = list(custom_models or [])
        #: Whether the region has an IAM Identity Center instance.
        self.identity_center = identity_center
        #: Resource name -> outputs AWS answers differently from the usual (a refusal a provider records).
        self.answers = dict(answers or {})

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
        state.update(self.answers.get(name, {}))
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

