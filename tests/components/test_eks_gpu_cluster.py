"""GPU cluster: EFA launch templates from the catalog, placement vs. reservations, scaling from zero."""

from __future__ import annotations

import base64
import json

import pytest

from components.catalog.instance_types import lookup
from components.catalog.versions import EKS_ADDONS, KUBERNETES_VERSIONS
from tests.helpers import CLUSTER, P4DE, P5, config, plan_config


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    return plan_config(tmp_path_factory.mktemp("eks"), config(gpuCluster=CLUSTER))


def _lt(view, group):
    return view.get("aws:ec2/launchTemplate:LaunchTemplate", f"mlplat-dev-gpu-{group}")


def _ng(view, group):
    return view.get("aws:eks/nodeGroup:NodeGroup", f"mlplat-dev-gpu-{group}")


@pytest.mark.parametrize("group,instance", [("p4de", "p4de.24xlarge"), ("p5", "p5.48xlarge")])
def test_one_efa_interface_per_efa_card(view, group, instance):
    lt = _lt(view, group)
    interfaces = lt["inputs"]["networkInterfaces"]
    expected = lookup(instance).max_efa_interfaces
    assert expected == {"p4de.24xlarge": 4, "p5.48xlarge": 32}[instance]
    assert len(interfaces) == expected, lt["urn"]
    assert [i["networkCardIndex"] for i in interfaces] == list(range(expected))
    assert interfaces[0]["interfaceType"] == "efa" and interfaces[0]["deviceIndex"] == 0
    assert all(i["interfaceType"] == "efa-only" and i["deviceIndex"] == 1 for i in interfaces[1:]), lt["urn"]
    efa_sg = view.get("aws:ec2/securityGroup:SecurityGroup", "mlplat-dev-gpu-efa")["id"]
    cluster = view.get("aws:eks/cluster:Cluster", "mlplat-dev-gpu-cluster")
    cluster_sg = cluster["outputs"]["vpcConfig"]["clusterSecurityGroupId"]
    for i in interfaces:
        assert i["securityGroups"] == [cluster_sg, efa_sg]
        assert i["deleteOnTermination"] == "true" and i["associatePublicIpAddress"] == "false"
    assert "vpcSecurityGroupIds" not in lt["inputs"], "a template with interfaces cannot also set SG ids"


def test_reserved_group_has_no_placement_group_but_a_reservation_target(view):
    lt = _lt(view, "p4de")
    assert "placement" not in lt["inputs"]
    target = lt["inputs"]["capacityReservationSpecification"]["capacityReservationTarget"]
    assert target == {"capacityReservationId": "cr-0123456789abcdef0"}
    assert "instanceMarketOptions" not in lt["inputs"]
    assert _ng(view, "p4de")["inputs"]["capacityType"] == "ON_DEMAND"


def test_unreserved_efa_group_gets_a_cluster_placement_group(view):
    pg = view.get("aws:ec2/placementGroup:PlacementGroup", "mlplat-dev-gpu-p5-pg")
    assert pg["inputs"]["strategy"] == "cluster"
    assert _lt(view, "p5")["inputs"]["placement"] == {"groupName": pg["outputs"]["name"]}
    assert "capacityReservationSpecification" not in _lt(view, "p5")["inputs"]
    assert len(view.of_type("aws:ec2/placementGroup:PlacementGroup")) == 1


def test_each_gpu_group_lives_in_exactly_one_subnet(view):
    subnets = {s["name"]: s["id"] for s in view.of_type("aws:ec2/subnet:Subnet")}
    assert _ng(view, "p4de")["inputs"]["subnetIds"] == [subnets["mlplat-dev-private-us-east-1a"]]
    assert _ng(view, "p5")["inputs"]["subnetIds"] == [subnets["mlplat-dev-private-us-east-1b"]]


def test_volume_imds_ami_and_scaling(view):
    lt = _lt(view, "p5")
    ebs = lt["inputs"]["blockDeviceMappings"][0]["ebs"]
    assert ebs["volumeSize"] == 800 and ebs["volumeType"] == "gp3" and ebs["encrypted"] == "true"
    assert _lt(view, "p4de")["inputs"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 500
    assert lt["inputs"]["metadataOptions"]["httpTokens"] == "required"
    assert lt["inputs"]["instanceType"] == "p5.48xlarge"
    ng = _ng(view, "p5")
    assert ng["inputs"]["amiType"] == "AL2023_x86_64_NVIDIA"
    assert ng["inputs"]["scalingConfig"] == {"minSize": 0, "desiredSize": 1, "maxSize": 4}
    assert ng["inputs"]["launchTemplate"] == {"id": lt["id"], "version": "1"}
    assert "instanceTypes" not in ng["inputs"], "the type lives in the launch template"


def test_instance_store_is_raided_through_nodeadm(view):
    text = base64.b64decode(_lt(view, "p5")["inputs"]["userData"]).decode()
    assert "Content-Type: application/node.eks.aws" in text
    assert "kind: NodeConfig" in text and "strategy: RAID0" in text


def test_labels_and_gpu_taint(view):
    ng = _ng(view, "p5")
    assert ng["inputs"]["labels"]["nvidia.com/gpu.present"] == "true"
    assert ng["inputs"]["labels"]["vpc.amazonaws.com/efa.present"] == "true"
    assert ng["inputs"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]


def test_autoscaler_node_template_tags_for_scale_from_zero(view):
    ng = _ng(view, "p5")
    asg = ng["outputs"]["resources"][0]["autoscalingGroups"][0]["name"]
    tags = {t["inputs"]["tag"]["key"]: t["inputs"]["tag"] for t in view.of_type("aws:autoscaling/tag:Tag")
            if t["inputs"]["autoscalingGroupName"] == asg}
    prefix = "k8s.io/cluster-autoscaler/node-template"
    assert tags[f"{prefix}/resources/nvidia.com/gpu"]["value"] == "8"
    assert tags[f"{prefix}/resources/vpc.amazonaws.com/efa"]["value"] == "32"
    assert tags[f"{prefix}/label/node.kubernetes.io/instance-type"]["value"] == "p5.48xlarge"
    assert tags[f"{prefix}/label/vpc.amazonaws.com/efa.present"]["value"] == "true"
    assert tags[f"{prefix}/taint/nvidia.com/gpu"]["value"] == "true:NoSchedule"
    assert all(t["propagateAtLaunch"] is False for t in tags.values())


def test_efa_security_group_self_rules(view):
    sg = view.get("aws:ec2/securityGroup:SecurityGroup", "mlplat-dev-gpu-efa")
    for typ, name in (("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "ingress"),
                      ("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "egress")):
        rule = view.get(typ, f"mlplat-dev-gpu-efa-{name}-self")
        assert rule["inputs"]["securityGroupId"] == sg["id"]
        assert rule["inputs"]["referencedSecurityGroupId"] == sg["id"]
        assert rule["inputs"]["ipProtocol"] == "-1"


def test_control_plane_encryption_logs_and_access(view):
    cluster = view.get("aws:eks/cluster:Cluster", "mlplat-dev-gpu-cluster")
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")
    inputs = cluster["inputs"]
    assert inputs["encryptionConfig"] == {"resources": ["secrets"], "provider": {"keyArn": key["outputs"]["arn"]}}
    assert inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert inputs["accessConfig"]["authenticationMode"] == "API"
    assert inputs["vpcConfig"]["endpointPrivateAccess"] is True
    assert inputs["vpcConfig"]["endpointPublicAccess"] is True
    assert inputs["vpcConfig"]["publicAccessCidrs"] == ["198.51.100.0/24"]
    group = view.get("aws:cloudwatch/logGroup:LogGroup", "mlplat-dev-gpu-control-plane")
    assert group["inputs"]["name"] == "/aws/eks/mlplat-dev-gpu/cluster"
    assert group["urn"] in cluster["dependencies"]
    entry = view.get("aws:eks/accessEntry:AccessEntry", "mlplat-dev-gpu-admin-0")
    assert entry["inputs"]["principalArn"] == "arn:aws:iam::123456789012:role/admin"
    assoc = view.get("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "mlplat-dev-gpu-admin-0")
    assert assoc["inputs"]["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    kms = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-gpu-cluster-kms")["inputs"]["policy"])
    assert kms["Statement"][0]["Resource"] == key["outputs"]["arn"]


def test_addons_pinned_and_node_groups_wait_for_vpc_cni(view):
    addons = {a["inputs"]["addonName"]: a for a in view.of_type("aws:eks/addon:Addon")
              if a["parent"].endswith("mlplat:eks_gpu_cluster:GpuCluster::mlplat-dev-gpu")}
    # The node monitoring agent (node auto repair's GPU, kernel, network and storage conditions) where pinned.
    assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "eks-node-monitoring-agent"}
    pinned = EKS_ADDONS[CLUSTER.get("kubernetesVersion", KUBERNETES_VERSIONS[-1])]
    assert {name: a["inputs"]["addonVersion"] for name, a in addons.items()} == {n: pinned[n] for n in addons}
    for ng in view.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert addons["vpc-cni"]["urn"] in ng["dependencies"], ng["urn"]
    system = view.get("aws:eks/nodeGroup:NodeGroup", "mlplat-dev-gpu-system")
    assert system["urn"] in addons["coredns"]["dependencies"]


def test_gpu_groups_are_repaired_and_the_cluster_states_its_upgrade_policy(view):
    for group in view.of_type("aws:eks/nodeGroup:NodeGroup"):
        if not group["name"].endswith("-system"):
            assert group["inputs"]["nodeRepairConfig"] == {"enabled": True}, group["urn"]
    cluster = view.of_type("aws:eks/cluster:Cluster")[0]
    assert cluster["inputs"]["upgradePolicy"] == {"supportType": "STANDARD"}


def test_kubernetes_versions_in_standard_support_today_with_their_add_ons():
    """Every version offered has its add-ons pinned; the default is the newest, in standard support today. The one
    deliberate calendar test: on 2027-08-03, when 1.36 leaves standard support, it turns red to say the catalog needs
    a newer version (every other test plans on a fixed day, tests/conftest.py)."""
    import datetime as dt

    from components.catalog.eks import KUBERNETES_CALENDAR, support_note

    today = dt.date.today()
    for version in KUBERNETES_VERSIONS:
        assert set(EKS_ADDONS[version]) >= {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent"}, version
        assert EKS_ADDONS[version]["kube-proxy"].startswith(f"v{version}."), version
    newest = KUBERNETES_VERSIONS[-1]
    assert KUBERNETES_CALENDAR[newest].status(today) == "standard"
    assert "1.33 left standard support on 2026-07-29" in support_note("1.33", dt.date(2026, 12, 4))
    assert "leaves standard support on 2027-03-27 (in 60 days)" in support_note("1.35", dt.date(2027, 1, 26))
    assert support_note("1.36", dt.date(2026, 12, 4)) is None


def test_deployers_on_a_connected_network_reach_the_private_endpoint(variety):
    rules = {r["inputs"]["cidrIpv4"] for r in variety.of_type(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "-api-from-" in r["name"]}
    assert rules == {"10.0.0.0/16", "172.31.0.0/16"}


def test_node_role_policies(view, tmp_path):
    """By default the node role has only what a node needs (operators use Pod Identity: a node-role policy is one
    every pod on the node can use); eksctl-style add-on policies only when asked for."""
    def attached(plan) -> set[str]:
        return {a["inputs"]["policyArn"].split(":policy/")[1] for a in
                plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if "-node-" in a["name"]}

    assert attached(view) == {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy",
                              "AmazonEC2ContainerRegistryPullOnly", "AmazonSSMManagedInstanceCore"}
    assert [p for p in view.of_type("aws:iam/rolePolicy:RolePolicy") if p["name"].endswith("-node-autoscaler")] == []
    asked = plan_config(tmp_path, config(gpuCluster={**CLUSTER, "nodeRoleAddons": ["cloudWatch", "autoScaler"]}))
    assert attached(asked) - attached(view) == {"CloudWatchAgentServerPolicy"}
    scaler = asked.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-gpu-node-autoscaler")
    scaler = json.loads(scaler["inputs"]["policy"])
    write = next(s for s in scaler["Statement"] if s["Sid"] == "ScaleOwnGroups")
    assert write["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/mlplat-dev-gpu": "owned"}}


def test_no_pod_reaches_the_instance_metadata_service(view):
    """IMDSv2 with hop limit 1 on every node (EKS best practices; checkov CKV_AWS_341), CloudWatch included: its
    agent runs on the host network; the FSx CSI plugins are given their region instead of reading IMDS."""
    templates = view.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert templates and {t["inputs"]["metadataOptions"]["httpPutResponseHopLimit"] for t in templates} == {1}
    assert {t["inputs"]["metadataOptions"]["httpTokens"] for t in templates} == {"required"}
    fsx = [r for r in view.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "aws-fsx-csi-driver"]
    for release in fsx:
        assert release["inputs"]["values"]["node"]["region"] == release["inputs"]["values"]["controller"]["region"]


def test_system_group_spans_all_private_subnets_with_imdsv2(view):
    system = view.get("aws:eks/nodeGroup:NodeGroup", "mlplat-dev-gpu-system")
    assert len(system["inputs"]["subnetIds"]) == 2
    assert system["inputs"]["instanceTypes"] == ["c5.2xlarge"]
    lt = view.get("aws:ec2/launchTemplate:LaunchTemplate", "mlplat-dev-gpu-system")
    assert lt["inputs"]["metadataOptions"]["httpTokens"] == "required"


def test_kubeconfig_is_a_secret_output(view):
    assert view.outputs["kubeconfig"] == "[secret]"
    names = view.outputs["nodeGroupNames"]
    assert set(names) == {"p4de", "p5"} and names["p5"].startswith("mlplat-dev-gpu-p5-")


def test_gpu_node_groups_can_be_replaced_create_first(view):
    """Subnets, capacity type, AMI type, node role and launch template force a new group, created before the old
    one is deleted: a fixed nodeGroupName would collide (ResourceInUseException). The name is generated."""
    from components.eks_gpu_cluster.node_config import NODE_GROUP_PREFIX_MAX, node_group_prefix

    for group in view.of_type("aws:eks/nodeGroup:NodeGroup"):
        assert "nodeGroupName" not in group["inputs"], group["urn"]
    gpu = [g for g in view.of_type("aws:eks/nodeGroup:NodeGroup") if not g["name"].endswith("-system")]
    assert gpu and all(g["inputs"]["nodeGroupNamePrefix"] == f"{g['name']}-" for g in gpu)
    long = node_group_prefix("mlplat-staging-gpu-" + "a" * 31)
    assert len(long) <= NODE_GROUP_PREFIX_MAX and long.endswith("-") and 63 - len(long) >= 26


def test_capacity_block_sets_market_type_and_capacity_type(tmp_path):
    block = dict(P5, capacityType="CAPACITY_BLOCK", capacityReservationId="cr-0fedcba9876543210")
    view = plan_config(tmp_path, config(gpuCluster=dict(CLUSTER, nodeGroups=[block])))
    assert _lt(view, "p5")["inputs"]["instanceMarketOptions"] == {"marketType": "capacity-block"}
    assert _ng(view, "p5")["inputs"]["capacityType"] == "CAPACITY_BLOCK"
    assert view.of_type("aws:ec2/placementGroup:PlacementGroup") == []


def test_a_reservation_made_in_a_placement_group_launches_in_it(variety):
    lt = _lt(variety, "p4de")["inputs"]
    assert lt["placement"] == {"groupName": "p4de-training-cpg"}
    assert lt["capacityReservationSpecification"]["capacityReservationTarget"]["capacityReservationId"]
    assert [pg for pg in variety.of_type("aws:ec2/placementGroup:PlacementGroup") if "p4de" in pg["name"]] == []
    policies = {v["policy"] for v in variety.plan["policy"]["violations"]}
    assert "no-placement-group-with-reservation" not in policies


def test_non_efa_group_uses_plain_security_groups(tmp_path):
    g5 = {"name": "small", "instanceType": "g5.xlarge", "availabilityZone": "us-east-1a", "maxSize": 1}
    view = plan_config(tmp_path, config(gpuCluster=dict(CLUSTER, nodeGroups=[g5])))
    lt = _lt(view, "small")
    templates = view.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == 2
    assert "networkInterfaces" not in lt["inputs"]
    assert len(lt["inputs"]["vpcSecurityGroupIds"]) == 1
    assert "vpc.amazonaws.com/efa.present" not in _ng(view, "small")["inputs"]["labels"]
    assert view.of_type("aws:ec2/placementGroup:PlacementGroup") == []


def test_pinned_vpc_cni_supports_efa_only_interfaces():
    from components.catalog.versions import EKS_ADDONS, VPC_CNI_MIN_FOR_EFA_ONLY, parse_addon_version

    for k8s_version, addons in EKS_ADDONS.items():
        assert parse_addon_version(addons["vpc-cni"]) >= VPC_CNI_MIN_FOR_EFA_ONLY, k8s_version
    assert parse_addon_version("v1.18.4-eksbuild.1") < VPC_CNI_MIN_FOR_EFA_ONLY  # the EKS guide's minimum is 1.18.5


def test_trainium_group_uses_the_neuron_ami_taint_and_resources(tmp_path):
    trn = {"name": "trn", "instanceType": "trn1.32xlarge", "availabilityZone": "us-east-1a", "maxSize": 2}
    view = plan_config(tmp_path, config(gpuCluster=dict(CLUSTER, nodeGroups=[trn])))
    ng = _ng(view, "trn")["inputs"]
    assert ng["amiType"] == "AL2023_x86_64_NEURON"
    assert ng["taints"] == [{"key": "aws.amazon.com/neuron", "value": "true", "effect": "NO_SCHEDULE"}]
    assert ng["labels"]["aws.amazon.com/neuron.present"] == "true" and "nvidia.com/gpu.present" not in ng["labels"]
    facts = lookup("trn1.32xlarge")
    tags = {t["inputs"]["tag"]["key"]: t["inputs"]["tag"]["value"] for t in view.of_type("aws:autoscaling/tag:Tag")}
    prefix = "k8s.io/cluster-autoscaler/node-template/resources/"
    assert tags[prefix + "aws.amazon.com/neuron"] == str(facts.accelerators)
    assert tags[prefix + "vpc.amazonaws.com/efa"] == str(facts.max_efa_interfaces)
    assert len(_lt(view, "trn")["inputs"]["networkInterfaces"]) == facts.max_efa_interfaces


def test_bottlerocket_group_raids_the_instance_store_with_its_own_settings(tmp_path):
    group = dict(P5, amiType="BOTTLEROCKET_x86_64_NVIDIA")
    view = plan_config(tmp_path, config(gpuCluster=dict(CLUSTER, nodeGroups=[group])))
    assert _ng(view, "p5")["inputs"]["amiType"] == "BOTTLEROCKET_x86_64_NVIDIA"
    settings = base64.b64decode(_lt(view, "p5")["inputs"]["userData"]).decode()
    assert settings.startswith("[settings.bootstrap-commands.k8s-ephemeral-storage]")
    assert '"ephemeral-storage", "init"' in settings and "NodeConfig" not in settings


@pytest.fixture(scope="module")
def variety(tmp_path_factory):
    """One plan for several options: a Bottlerocket group, a reservation made in a placement group, deployers on a
    connected network."""
    groups = [dict(P5, amiType="BOTTLEROCKET_x86_64_NVIDIA"), dict(P4DE, reservationPlacementGroup="p4de-training-cpg")]
    cluster = dict(CLUSTER, nodeGroups=groups, deployerInVpc=True, deployerCidrs=["172.31.0.0/16"])
    return plan_config(tmp_path_factory.mktemp("variety"), config(gpuCluster=cluster))


def test_one_nvidia_device_plugin_per_node_bottlerocket_runs_its_own(variety):
    """Bottlerocket's NVIDIA AMI runs its own device plugin: the chart's DaemonSet must not land there too."""
    (plugin,) = [r for r in variety.of_type("kubernetes:helm.sh/v3:Release")
                 if r["inputs"]["chart"] == "nvidia-device-plugin"]
    selector = plugin["inputs"]["values"]["nodeSelector"]
    for name, bottlerocket in (("p5", True), ("p4de", False)):
        labels = _ng(variety, name)["inputs"]["labels"]
        selected = all(labels.get(k) == v for k, v in selector.items())
        assert selected is not bottlerocket, (name, labels, selector)


@pytest.mark.parametrize("group,accelerator", [("p4de", "nvidia-a100"), ("p5", "nvidia-h100")])
def test_gpu_groups_carry_the_autoscaler_accelerator_label_and_its_template_tag(view, group, accelerator):
    """Without it cluster-autoscaler over-scales GPU groups while the device plugin starts (autoscaler AWS README)."""
    assert _ng(view, group)["inputs"]["labels"]["k8s.amazonaws.com/accelerator"] == accelerator
    asg_tags = {t["inputs"]["tag"]["key"]: t["inputs"]["tag"]["value"] for t in view.of_type("aws:autoscaling/tag:Tag")
                if t["name"].startswith(f"mlplat-dev-gpu-{group}-ca-")}
    assert asg_tags["k8s.io/cluster-autoscaler/node-template/label/k8s.amazonaws.com/accelerator"] == accelerator


def test_deployer_in_vpc_reaches_a_private_endpoint_over_https_from_the_vpc(tmp_path):
    cluster = dict(CLUSTER, endpointPublicAccess=False, publicAccessCidrs=[], deployerInVpc=True)
    view = plan_config(tmp_path, config(gpuCluster=cluster))
    vpc_config = view.get("aws:eks/cluster:Cluster", "mlplat-dev-gpu-cluster")["inputs"]["vpcConfig"]
    assert vpc_config["endpointPublicAccess"] is False and vpc_config["endpointPrivateAccess"] is True
    rule = view.get("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "mlplat-dev-gpu-api-from-vpc")
    assert rule["inputs"]["cidrIpv4"] == view.get("aws:ec2/vpc:Vpc", "mlplat-dev-vpc")["inputs"]["cidrBlock"]
    assert (rule["inputs"]["fromPort"], rule["inputs"]["toPort"], rule["inputs"]["ipProtocol"]) == (443, 443, "tcp")


def test_renamed_component_types_keep_existing_stacks(envs):
    """Components registered under an older type token alias it, so `pulumi up` replaces nothing."""
    plan = envs["staging"]
    former = {"mlplat:eks_gpu_cluster:GpuCluster": "mlplat:eks:GpuCluster",
              "mlplat:cluster_operators:ClusterOperators": "mlplat:eks:ClusterOperators",
              "mlplat:jumpstart_endpoint:JumpStartEndpoint": "mlplat:sagemaker:JumpStartEndpoint",
              "mlplat:canvas:CanvasDomain": "mlplat:sagemaker:CanvasDomain",
              "mlplat:ray_job:CurationRayJob": "mlplat:ray:CurationRayJob",
              "mlplat:training_job:FsdpTrainingJob": "mlplat:training:FsdpTrainingJob"}
    for typ, old in former.items():
        components = plan.of_type(typ)
        assert components, typ
        for c in components:
            assert old in [a.get("spec", {}).get("type") for a in c["aliases"]], c["urn"]
