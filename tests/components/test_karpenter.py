"""Karpenter as the GPU provisioner: controller, interruption queue, node classes and pools, as AWS and the CRDs
would judge them; config that cannot work refused with exit 2."""

from __future__ import annotations

import copy
import json

import pytest

from components.catalog.instance_types import lookup
from components.catalog.versions import HELM_CHARTS, KARPENTER_AMI_ALIAS
from mlplat.cost import estimate
from policies.offline import evaluate
from tests.helpers import CLUSTER, P4DE, P5, config, plan_config, run_cli
from tests.kubernetes_schemas import validate_karpenter

POOL = "kubernetes:karpenter.sh/v1:NodePool"
CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
RELEASE = "kubernetes:helm.sh/v3:Release"
#: Both provisioners in one cluster: p5 on Karpenter (unreserved EFA), p4de stays a managed node group.
MIXED = {**CLUSTER, "nodeGroups": [P4DE, {**P5, "desiredSize": 0, "provisioner": "karpenter"}]}


@pytest.fixture(scope="module")
def staging(envs):
    return envs["staging"]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    return plan_config(tmp_path_factory.mktemp("karpenter"), config(gpuCluster=MIXED))


def _spec(view, typ, name):
    return view.get(typ, name)["inputs"]["spec"]


def test_controller_chart_pinned_on_system_nodes_with_its_queue(staging):
    crd = staging.get(RELEASE, "mlplat-staging-karpenter-karpenter-crd")
    controller = staging.get(RELEASE, "mlplat-staging-karpenter-karpenter")
    for release, key in ((crd, "karpenter-crd"), (controller, "karpenter")):
        repo, chart, version = HELM_CHARTS[key]
        assert release["inputs"]["chart"] == f"{repo}/{chart}" and release["inputs"]["version"] == version
    assert controller["inputs"]["skipCrds"] is True and crd["urn"] in controller["dependencies"]
    values = controller["inputs"]["values"]
    assert values["nodeSelector"]["mlplat.io/node-group"] == "system"
    queue = staging.get("aws:sqs/queue:Queue", "mlplat-staging-karpenter-interruptions")
    assert values["settings"] == {"clusterName": "mlplat-staging-gpu", "interruptionQueue": queue["outputs"]["name"],
                                  # NodeOverlay: the EFA pool's huge pages (its NodeOverlay) count only with it.
                                  # nodeRepair: the pool's autoRepair (on by default) needs the alpha gate.
                                  "featureGates": {"reservedCapacity": True, "nodeOverlay": True, "nodeRepair": True}}
    system = staging.get("aws:eks/nodeGroup:NodeGroup", "mlplat-staging-gpu-system")
    association = staging.get("aws:eks/podIdentityAssociation:PodIdentityAssociation",
                              "mlplat-staging-karpenter-controller")
    assert {system["urn"], association["urn"]} <= set(controller["dependencies"])
    assert (association["inputs"]["namespace"], association["inputs"]["serviceAccount"]) == ("kube-system",
                                                                                            "karpenter")


def test_pools_come_after_the_controller_and_their_node_class(staging):
    controller = staging.get(RELEASE, "mlplat-staging-karpenter-karpenter")
    node_class = staging.get(CLASS, "mlplat-staging-karpenter-p4de-class")
    pool = staging.get(POOL, "mlplat-staging-karpenter-p4de-pool")
    assert controller["urn"] in node_class["dependencies"]
    assert {controller["urn"], node_class["urn"]} <= set(pool["dependencies"])
    assert not staging.of_type("aws:eks/nodeGroup:NodeGroup")[1:], "only the system node group is managed"


def test_nodes_join_through_their_own_role_and_an_ec2_linux_access_entry(staging):
    role = staging.get("aws:iam/role:Role", "mlplat-staging-karpenter-node")
    entry = staging.get("aws:eks/accessEntry:AccessEntry", "mlplat-staging-karpenter-node")["inputs"]
    assert entry["type"] == "EC2_LINUX" and entry["principalArn"] == role["outputs"]["arn"]
    assert _spec(staging, CLASS, "mlplat-staging-karpenter-p4de-class")["role"] == role["outputs"]["name"]
    trust = json.loads(role["inputs"]["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    policy = json.loads(staging.get("aws:iam/rolePolicy:RolePolicy", "mlplat-staging-karpenter-controller")
                        ["inputs"]["policy"])
    (passrole,) = [s for s in policy["Statement"] if s["Action"] == "iam:PassRole"]
    assert passrole["Resource"] == role["outputs"]["arn"], "the controller passes only the Karpenter node role"
    reads = next(s for s in policy["Statement"] if s["Sid"] == "AllowRegionalReadActions")["Action"]
    assert "ec2:DescribeCapacityReservations" in reads


def test_interruption_queue_is_encrypted_and_fed_only_by_its_rules(staging):
    queue = staging.get("aws:sqs/queue:Queue", "mlplat-staging-karpenter-interruptions")
    key = staging.get("aws:kms/key:Key", "mlplat-staging-data-key")
    assert queue["inputs"]["kmsMasterKeyId"] == key["outputs"]["arn"]
    rules = [r for r in staging.of_type("aws:cloudwatch/eventRule:EventRule") if "-karpenter-" in r["name"]]
    patterns = [json.loads(r["inputs"]["eventPattern"])["detail-type"][0] for r in rules]
    assert sorted(patterns) == sorted([
        "AWS Health Event", "EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation",
        "EC2 Instance State-change Notification", "EC2 Capacity Reservation Instance Interruption Warning"])
    targets = [t for t in staging.of_type("aws:cloudwatch/eventTarget:EventTarget") if "-karpenter-" in t["name"]]
    assert {t["inputs"]["arn"] for t in targets} == {queue["outputs"]["arn"]} and len(targets) == 5
    policy = json.loads(staging.get("aws:sqs/queuePolicy:QueuePolicy", "mlplat-staging-karpenter-interruptions")
                        ["inputs"]["policy"])
    allow = policy["Statement"][0]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(allow["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(r["outputs"]["arn"] for r in rules)
    key_policy = json.loads(key["inputs"]["policy"])
    events = next(s for s in key_policy["Statement"] if s["Sid"] == "EventBridgeQueues")
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert set(events["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}


def test_reserved_pool_selects_its_reservation_and_launches_only_into_it(staging):
    node_class = _spec(staging, CLASS, "mlplat-staging-karpenter-p4de-class")
    assert node_class["capacityReservationSelectorTerms"] == [{"id": "cr-0a1b2c3d4e5f60718"}]
    assert "placementGroupSelector" not in node_class, "reserved instances launch outside any placement group"
    assert node_class["amiSelectorTerms"] == [{"alias": KARPENTER_AMI_ALIAS}]
    assert node_class["metadataOptions"]["httpTokens"] == "required"
    assert node_class["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert node_class["instanceStorePolicy"] == "RAID0" and node_class["blockDeviceMappings"][0]["ebs"]["encrypted"]
    subnet = staging.get("aws:ec2/subnet:Subnet", "mlplat-staging-private-us-east-1a")
    assert node_class["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "mlplat-staging"}}]
    assert subnet["inputs"]["tags"]["karpenter.sh/discovery"] == "mlplat-staging"
    pool = _spec(staging, POOL, "mlplat-staging-karpenter-p4de-pool")
    requirements = {r["key"]: r["values"] for r in pool["template"]["spec"]["requirements"]}
    assert requirements["karpenter.sh/capacity-type"] == ["reserved"]
    assert requirements["topology.kubernetes.io/zone"] == ["us-east-1a"]
    # A training pool never replaces a drifted node (a `pulumi up` changing its template would kill a run).
    assert pool["disruption"]["consolidationPolicy"] == "WhenEmpty" and pool["disruption"]["budgets"] == [
        {"nodes": "1"}, {"nodes": "0", "reasons": ["Drifted"]}]
    assert pool["template"]["spec"]["expireAfter"] == "Never"
    assert {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"} in pool["template"]["spec"]["taints"]
    facts = lookup("p4de.24xlarge")
    assert pool["limits"]["nvidia.com/gpu"] == 2 * facts.accelerators and pool["limits"]["cpu"] == 2 * facts.vcpus


def test_efa_pool_lays_out_one_efa_device_per_card_in_a_placement_group(mixed):
    node_class = _spec(mixed, CLASS, "mlplat-dev-karpenter-p5-class")
    interfaces = node_class["networkInterfaces"]
    facts = lookup("p5.48xlarge")
    efa = [i for i in interfaces if i["interfaceType"] == "efa-only"]
    assert len(efa) == facts.max_efa_interfaces == 32
    assert sorted(i["networkCardIndex"] for i in efa) == list(range(32))
    assert interfaces[0] == {"networkCardIndex": 0, "deviceIndex": 0, "interfaceType": "interface"}
    pg = mixed.get("aws:ec2/placementGroup:PlacementGroup", "mlplat-dev-karpenter-p5-pg")
    assert pg["inputs"]["strategy"] == "cluster"
    assert node_class["placementGroupSelector"] == {"name": pg["outputs"]["name"]}
    efa_sg = mixed.get("aws:ec2/securityGroup:SecurityGroup", "mlplat-dev-gpu-efa")
    assert {"tags": {"karpenter.sh/discovery": efa_sg["inputs"]["tags"]["karpenter.sh/discovery"]}} in node_class[
        "securityGroupSelectorTerms"]
    pool = _spec(mixed, POOL, "mlplat-dev-karpenter-p5-pool")
    requirements = {r["key"]: r["values"] for r in pool["template"]["spec"]["requirements"]}
    assert requirements["karpenter.sh/capacity-type"] == ["on-demand"]


def test_both_provisioners_side_by_side(mixed):
    groups = {g["name"] for g in mixed.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert groups == {"mlplat-dev-gpu-system", "mlplat-dev-gpu-p4de"}
    assert [p["name"] for p in mixed.of_type(POOL)] == ["mlplat-dev-karpenter-p5-pool"]
    job_labels = _spec(mixed, POOL, "mlplat-dev-karpenter-p5-pool")["template"]["metadata"]["labels"]
    assert job_labels["mlplat.io/node-group"] == "p5", "jobs target a pool by the label they target a group by"


def test_the_crd_judge_refuses_what_the_api_server_would(staging):
    node_class = staging.get(CLASS, "mlplat-staging-karpenter-p4de-class")["inputs"]
    pool = staging.get(POOL, "mlplat-staging-karpenter-p4de-pool")["inputs"]
    bad_class = copy.deepcopy(node_class)
    bad_class["spec"]["networkInterfaces"][0]["interfaceType"] = "efa"
    bad_class["spec"]["instanceStoragePolicy"] = "RAID0"
    bad_pool = copy.deepcopy(pool)
    bad_pool["spec"]["disruption"]["consolidationPolicy"] = "WhenUnderutilized"
    bad_pool["spec"]["template"]["spec"]["requirements"][0]["operator"] = "Equals"
    good, wrong_class, wrong_pool = validate_karpenter([pool, bad_class, bad_pool])
    assert good == []
    assert any("networkInterfaces/0/interfaceType" in p for p in wrong_class)
    assert any("instanceStoragePolicy: unknown field" in p for p in wrong_class)
    assert any("consolidationPolicy" in p for p in wrong_pool) and any("operator" in p for p in wrong_pool)


def test_cost_prices_a_reserved_pool_as_committed_spend(staging):
    """Staging's p4de pool launches into a capacity reservation: billed whether nodes run or not, so its idle cost
    is its limit's worth (2 x p4de.24xlarge), not 0."""
    (pool,) = [i for i in estimate(staging.resources)["items"] if i["type"] == POOL]
    facts = lookup("p4de.24xlarge")
    assert pool["hourlyUsdIdle"] == pool["hourlyUsdMax"] == pytest.approx(2 * facts.hourly_usd, abs=1e-3)
    assert "billed whether used or not" in pool["detail"]


def test_policies_read_pools_as_they_read_node_groups(staging):
    resources = copy.deepcopy(staging.resources)
    pool = next(r for r in resources if r["type"] == POOL)
    node_class = next(r for r in resources if r["type"] == CLASS)
    for form in ("inputs", "outputs"):  # resource rules read inputs, stack rules the outputs
        pool[form]["spec"]["template"]["spec"]["taints"] = []
        pool[form]["spec"]["limits"]["nvidia.com/gpu"] = 80
        pool[form]["spec"]["limits"]["cpu"] = 960
        node_class[form]["spec"]["networkInterfaces"] = node_class[form]["spec"]["networkInterfaces"][:3]
        node_class[form]["spec"]["placementGroupSelector"] = {"name": "elsewhere"}
    found = {(v["policy"], v["message"].split(";")[0][:60]) for v in evaluate(resources, {
        "gpu-hourly-budget": {"maxHourlyGpuUsd": 100}})}
    policies = {p for p, _ in found}
    assert {"gpu-node-groups-placed-and-tainted", "gpu-hourly-budget",
            "no-placement-group-with-reservation"} <= policies, found
    messages = " ".join(m for _, m in found)
    assert "does not taint" in messages and "supports 4 EFA interfaces" in messages
    assert evaluate(staging.resources, {"gpu-hourly-budget": {"maxHourlyGpuUsd": 100}}) == []


@pytest.mark.parametrize("group,expected", [
    ({**P4DE, "provisioner": "karpenter", "karpenter": {"consolidation": "WhenEmptyOrUnderutilized"}},
     "nodeGroups[0].karpenter.consolidation: a training pool consolidates only empty nodes"),
    ({**P4DE, "provisioner": "karpenter", "capacityType": "CAPACITY_BLOCK", "karpenter": {"expireAfter": "720h"}},
     "nodeGroups[0].karpenter.expireAfter: a capacity block's nodes end with the block"),
    ({**P5, "desiredSize": 0, "karpenter": {"workload": "serving"}},
     "nodeGroups[0].karpenter: only a Karpenter NodePool reads it"),
    ({**P5, "desiredSize": 0, "provisioner": "karpenter", "karpenter": {"onDemandFallback": True}},
     "nodeGroups[0].karpenter.onDemandFallback: falls back from a reservation to on-demand"),
    ({**P5, "provisioner": "karpenter"}, "nodeGroups[0].desiredSize: Karpenter launches nodes for pending pods"),
    ({**P5, "desiredSize": 0, "provisioner": "karpenter", "karpenter": {"expireAfter": "30d"}},
     "nodeGroups[0].karpenter.expireAfter"),
])
def test_pools_that_cannot_work_are_refused_with_exit_2(tmp_path, group, expected):
    stack = tmp_path / "Pulumi.dev-k.yaml"
    stack.write_text(json.dumps({"config": config(gpuCluster={**CLUSTER, "nodeGroups": [group]})}))
    result = run_cli("plan", "dev-k", "--config-file", str(stack))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"ml-platform:gpuCluster.{expected}" in result.stderr, result.stderr


def test_a_reservation_no_pool_can_use_is_refused(tmp_path):
    """A reservation holds one instance type in one AZ: two groups naming it with different types cannot both use
    it, and the one that does not match would never launch."""
    other = {**P5, "desiredSize": 0, "capacityReservationId": P4DE["capacityReservationId"],
             "availabilityZone": P4DE["availabilityZone"]}
    stack = tmp_path / "Pulumi.dev-k.yaml"
    stack.write_text(json.dumps({"config": config(gpuCluster={**CLUSTER, "provisioner": "karpenter",
                                                              "nodeGroups": [P4DE | {"desiredSize": 0}, other]})}))
    result = run_cli("plan", "dev-k", "--config-file", str(stack))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "gpuCluster.nodeGroups[1].capacityReservationId: reservation cr-0123456789abcdef0 is for " in result.stderr


def test_the_system_nodes_check_counts_the_controller(staging):
    from components.catalog.system_pods import SYSTEM_PODS

    pod = next(p for p in SYSTEM_PODS if p.name == "karpenter")
    values = staging.get(RELEASE, "mlplat-staging-karpenter-karpenter")["inputs"]["values"]
    requests = values["controller"]["resources"]["requests"]
    memory_mi = int(requests["memory"].removesuffix("Gi")) * 1024
    assert (pod.cpu_m, pod.memory_mi) == (int(requests["cpu"]) * 1000, memory_mi)


def test_migration_step_one_installs_the_controller_and_changes_no_node_group(tmp_path):
    """docs/karpenter.md step 1: provisioner karpenter, every group still on node groups."""
    groups = [{**P4DE, "provisioner": "node-groups"}, {**P5, "provisioner": "node-groups"}]
    step1 = plan_config(tmp_path, config(gpuCluster={**CLUSTER, "provisioner": "karpenter", "nodeGroups": groups}))
    before = plan_config(tmp_path, config(gpuCluster=CLUSTER))
    assert step1.get(RELEASE, "mlplat-dev-karpenter-karpenter") and not step1.of_type(POOL)
    managed = {r["name"]: r["inputs"] for r in before.of_type("aws:eks/nodeGroup:NodeGroup")}
    assert {r["name"]: r["inputs"] for r in step1.of_type("aws:eks/nodeGroup:NodeGroup")} == managed


def test_the_crd_judge_is_the_pinned_karpenter_version():
    """tests/schemas/karpenter holds the openAPIV3Schema of the CRDs the platform installs (karpenter-crd chart):
    generated from aws/karpenter-provider-aws at the same tag (scripts/generate_karpenter_schemas.py)."""
    import json

    from components.catalog.versions import HELM_CHARTS
    from tests.helpers import ROOT

    version = HELM_CHARTS["karpenter-crd"][2]
    files = sorted((ROOT / "tests" / "schemas" / "karpenter").glob("*.json"))
    assert [f.name for f in files] == ["EC2NodeClass.v1.json", "NodeOverlay.v1alpha1.json", "NodePool.v1.json"]
    for f in files:
        assert json.loads(f.read_text())["source"].startswith(f"aws/karpenter-provider-aws v{version} ("), f.name
