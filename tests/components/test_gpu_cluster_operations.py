"""The GPU cluster as other systems act on it: deployers other than its creator, what EC2 and Karpenter launch
(tags), and add-on versions the EKS API must accept."""

from __future__ import annotations

import json

import pytest

from components.catalog.versions import EKS_ADDONS
from tests.helpers import CLUSTER, config, plan_config, values


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    return plan_config(tmp_path_factory.mktemp("gpu"), config(gpuCluster=CLUSTER))


def test_every_deployer_reaches_the_api_through_one_role(tmp_path):
    """A stack one person created, previewed by CI: the kubeconfig assumes `deployerRoleArn` (`aws eks get-token
    --role-arn`), which gets a cluster-admin access entry before the Kubernetes provider is used."""
    from components.eks_gpu_cluster.access import kubeconfig

    role = "arn:aws:iam::123456789012:role/ml-platform-deployer"
    view = plan_config(tmp_path, config(gpuCluster={**CLUSTER, "deployerRoleArn": role}))
    entry = view.get("aws:eks/accessEntry:AccessEntry", "mlplat-dev-gpu-deployer")
    assert entry["inputs"]["principalArn"] == role and entry["inputs"]["type"] == "STANDARD"
    association = view.get("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "mlplat-dev-gpu-deployer")
    assert association["inputs"]["policyArn"].endswith(":cluster-access-policy/AmazonEKSClusterAdminPolicy")
    (provider,) = view.of_type("pulumi:providers:kubernetes")
    assert association["urn"] in provider["dependencies"], provider["urn"]
    user = kubeconfig("c", "https://x", "ca", "us-east-1", role)["users"][0]["user"]["exec"]
    assert user["args"][-2:] == ["--role-arn", role]
    assert "--role-arn" not in kubeconfig("c", "https://x", "ca", "us-east-1")["users"][0]["user"]["exec"]["args"]


def test_a_deployer_role_that_is_not_a_role_arn_is_refused(tmp_path):
    from stacks.config import parse
    from stacks.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        parse(values(config(gpuCluster={**CLUSTER, "deployerRoleArn": "arn:aws:iam::123456789012:user/ci"})))
    (line,) = info.value.problems
    assert line.startswith("ml-platform:gpuCluster.deployerRoleArn: expected IAM role ARNs")


def test_what_ec2_and_karpenter_launch_carries_the_environment_tags(view):
    """Provider default_tags reach a launch template, not what it launches (terraform-provider-aws #19387): the
    instances, volumes and ENIs get the ownership tags from tag_specifications, and the tag policy checks them."""
    from policies.offline import evaluate

    lt = view.get("aws:ec2/launchTemplate:LaunchTemplate", "mlplat-dev-gpu-p5")
    for spec in lt["inputs"]["tagSpecifications"]:
        assert {"environment", "project", "owner", "cost-center"} <= set(spec["tags"]), spec["resourceType"]
    stripped = json.loads(json.dumps(lt))
    stripped["inputs"]["tagSpecifications"][0]["tags"] = {"Name": "x"}
    found = [v["message"] for v in evaluate([stripped])
             if v["policy"] == "required-tags" and "launched" in v["message"]]
    assert found == ["instances launched from this template lack required tags: environment, project, owner, "
                     "cost-center (default_tags do not reach them: set them in tag_specifications)"]


def test_unconfirmed_addon_pins_are_resolved_for_the_cluster_version_at_deploy_time(tmp_path, monkeypatch):
    """A pin no API answer confirmed may not exist for the cluster's version (CreateAddon fails): those add-ons take
    the provider look-up's default for that version; confirmed pins are used as they are; vpc-cni keeps its floor."""
    import types

    import pulumi

    from components import eks_addons
    from components.catalog.versions import UNCONFIRMED_ADDONS

    asked: list[tuple[str, str]] = []

    def look_up(addon_name: str, kubernetes_version: str, opts=None):
        asked.append((kubernetes_version, addon_name))
        return pulumi.Output.from_input(types.SimpleNamespace(version="v1.99.0-eksbuild.1"))

    monkeypatch.setattr(eks_addons.aws.eks, "get_addon_version_output", look_up)
    view = plan_config(tmp_path, config(gpuCluster=CLUSTER), mock_options={})
    versions = {a["inputs"]["addonName"]: a["inputs"]["addonVersion"] for a in view.of_type("aws:eks/addon:Addon")}
    assert set(asked) == {(v, a) for v, a in UNCONFIRMED_ADDONS if v == "1.36" and a in versions}
    assert versions["vpc-cni"] == "v1.99.0-eksbuild.1" and versions["coredns"] == EKS_ADDONS["1.36"]["coredns"]
    with pytest.raises(ValueError, match="below v1.18.5"):
        eks_addons._at_least_floor("vpc-cni", "v1.18.4-eksbuild.1")


def test_karpenter_tags_what_it_launches_with_the_environment_tags():
    from policies.offline import evaluate
    from tests.helpers import plan_environment

    staging = plan_environment("staging")
    (node_class,) = staging.of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass")
    tags = node_class["inputs"]["spec"]["tags"]
    assert {"environment": "staging", "project": "ml-platform"}.items() <= tags.items()
    stripped = json.loads(json.dumps(node_class))
    stripped["inputs"]["spec"]["tags"] = {"Name": "x"}
    found = [v["message"] for v in evaluate([stripped]) if v["policy"] == "required-tags"]
    assert found and found[0].startswith("instances Karpenter launches for this node class lack required tags")
