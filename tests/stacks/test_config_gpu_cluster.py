"""Bad GPU-cluster input fails before anything is created, one clear line per problem."""

from __future__ import annotations

import pytest

from stacks.config import parse
from stacks.errors import ConfigError
from tests.helpers import config, values

GROUP = {"name": "p5", "instanceType": "p5.48xlarge", "availabilityZone": "us-east-1a", "maxSize": 2}


def _cluster(*groups: dict, **extra) -> dict:
    return config(gpuCluster={"enabled": True, "publicAccessCidrs": ["198.51.100.0/24"],
                              "nodeGroups": list(groups), **extra})


def _problems(cfg: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(values(cfg))
    return info.value.problems


def test_valid_cluster_parses_with_defaults():
    cfg = parse(values(_cluster(GROUP)))
    group = cfg.gpu_cluster.node_groups[0]
    assert group.efa_enabled and group.volume_size_gib == 500 and group.capacity_type == "ON_DEMAND"
    assert cfg.gpu_cluster.endpoint_public_access is True  # dev default
    assert cfg.gpu_cluster.log_retention_days == 30


def test_unknown_instance_type_lists_supported_types():
    (line,) = _problems(_cluster(dict(GROUP, instanceType="p9.48xlarge")))
    assert line.startswith("ml-platform:gpuCluster.nodeGroups[0].instanceType: expected one of the supported")
    assert "p4de.24xlarge" in line and "p5.48xlarge" in line and "found 'p9.48xlarge'" in line


def test_efa_on_a_type_without_efa():
    (line,) = _problems(_cluster(dict(GROUP, instanceType="g5.xlarge", efa=True)))
    assert line.startswith("ml-platform:gpuCluster.nodeGroups[0].efa: g5.xlarge has no EFA support")


def test_desired_outside_min_max():
    (line,) = _problems(_cluster(dict(GROUP, minSize=1, desiredSize=5, maxSize=2)))
    assert line == ("ml-platform:gpuCluster.nodeGroups[0].desiredSize: expected a value within [minSize, maxSize] = "
                    "[1, 2]; found 5")


def test_capacity_block_without_reservation():
    (line,) = _problems(_cluster(dict(GROUP, capacityType="CAPACITY_BLOCK")))
    assert line.startswith("ml-platform:gpuCluster.nodeGroups[0].capacityReservationId: capacityType CAPACITY_BLOCK")


def test_az_not_in_network():
    (line,) = _problems(_cluster(dict(GROUP, availabilityZone="us-east-1f")))
    assert line == ("ml-platform:gpuCluster.nodeGroups[0].availabilityZone: expected one of the network's AZs "
                    "(us-east-1a, us-east-1b); found 'us-east-1f'")
    # Shared storage pinned to an AZ is held to the same rule, in the same words (stacks/checks/base.py).
    (line,) = _problems(_cluster(GROUP, sharedStorage={"enabled": True, "availabilityZone": "us-east-1f"},
                                 operators={"fsxCsi": True}))
    assert line == ("ml-platform:gpuCluster.sharedStorage.availabilityZone: expected one of the network's AZs "
                    "(us-east-1a, us-east-1b); found 'us-east-1f'")


def test_one_reservation_in_two_azs_is_detected():
    a = dict(GROUP, name="a", capacityReservationId="cr-0123456789abcdef0")
    b = dict(GROUP, name="b", availabilityZone="us-east-1b", capacityReservationId="cr-0123456789abcdef0")
    (line,) = _problems(_cluster(a, b))
    assert line.startswith("ml-platform:gpuCluster.nodeGroups[1].capacityReservationId: reservation cr-0123")
    assert "nodeGroups[0] in us-east-1a" in line


def test_public_endpoint_needs_cidrs():
    cfg = config(gpuCluster={"enabled": True, "nodeGroups": [GROUP]})
    (line,) = _problems(cfg)
    assert line.startswith("ml-platform:gpuCluster.publicAccessCidrs: expected the CIDRs allowed")


def test_private_prod_cluster_needs_no_cidrs_when_deployed_from_the_vpc():
    cluster = {"enabled": True, "nodeGroups": [GROUP], "deployerInVpc": True}
    cfg = parse(values(config(environment="prod", gpuCluster=cluster)))
    assert cfg.gpu_cluster.endpoint_public_access is False  # the prod default


def test_duplicate_group_names_and_another_mistake_reported_together():
    cfg = _cluster(GROUP, GROUP)
    cfg["ml-platform:environment"] = "qa"
    problems = _problems(cfg)
    assert len(problems) == 2, problems
    assert any(p == "ml-platform:gpuCluster.nodeGroups[1].name: expected a unique name; 'p5' is also nodeGroups[0].name"
               for p in problems)
    assert any(p.startswith("ml-platform:environment:") for p in problems)


def test_bad_reservation_id_names_the_form_not_a_regex():
    (line,) = _problems(_cluster(dict(GROUP, capacityReservationId="res-1")))
    assert line == ("ml-platform:gpuCluster.nodeGroups[0].capacityReservationId: expected the form this key "
                    "documents: On-demand capacity reservation or capacity block id (cr- and 17 hexadecimal digits); "
                    "found 'res-1'")


def test_trainium_rejects_nvidia_ami():
    (line,) = _problems(_cluster(dict(GROUP, instanceType="trn1.32xlarge", amiType="AL2023_x86_64_NVIDIA")))
    assert "expected AL2023_x86_64_NEURON" in line


def test_unknown_kubernetes_version():
    (line,) = _problems(_cluster(GROUP, kubernetesVersion="1.20"))
    assert line.startswith("ml-platform:gpuCluster.kubernetesVersion:") and "'1.33'" in line


def test_private_only_endpoint_needs_a_deployer_inside_the_vpc():
    (line,) = _problems(_cluster(GROUP, endpointPublicAccess=False, publicAccessCidrs=[]))
    assert line.startswith("ml-platform:gpuCluster.endpointPublicAccess: expected an API endpoint the deployer can "
                           "reach")
    assert "endpointPublicAccess: true with publicAccessCidrs" in line and "deployerInVpc: true" in line
    cfg = parse(values(_cluster(GROUP, endpointPublicAccess=False, publicAccessCidrs=[], deployerInVpc=True)))
    assert cfg.gpu_cluster.deployer_in_vpc is True


def test_public_allow_list_never_holds_the_whole_internet():
    (line,) = _problems(_cluster(GROUP, publicAccessCidrs=["198.51.100.0/24", "0.0.0.0/0"]))
    assert line == ("ml-platform:gpuCluster.publicAccessCidrs: expected the deployers' own CIDRs, never the whole "
                    "internet; found '0.0.0.0/0'")


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_shipped_staging_and_prod_are_reachable_by_their_deployer(stack):
    import yaml

    from tests.helpers import ROOT

    cluster = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]["ml-platform:gpuCluster"]
    assert cluster["endpointPublicAccess"] is True
    assert cluster["publicAccessCidrs"] and all(not c.endswith("/0") for c in cluster["publicAccessCidrs"])


def test_a_reservation_placement_group_needs_a_reservation():
    (line,) = _problems(_cluster(dict(GROUP, reservationPlacementGroup="cpg")))
    assert line.startswith("ml-platform:gpuCluster.nodeGroups[0].reservationPlacementGroup: expected "
                           "capacityReservationId too")
