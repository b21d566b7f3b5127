"""The envs environments: shape per environment, independent capabilities, cost targets."""

from __future__ import annotations

import pytest

from mlplat.graph import critical_path, edges, render, transitive_dependencies


@pytest.fixture
def dev(envs):
    return envs["dev"]


@pytest.fixture
def prod(envs):
    return envs["prod"]


def test_dev_scales_gpus_to_zero_and_idles_under_a_dollar(dev):
    gpu_groups = [g for g in dev.of_type("aws:eks/nodeGroup:NodeGroup") if not g["name"].endswith("-system")]
    assert gpu_groups and all(g["inputs"]["scalingConfig"]["minSize"] == 0 for g in gpu_groups)
    pending = [i for i in dev.cost["items"] if i["detail"].startswith("pending: ")]
    assert [i["hourlyUsdIdle"] for i in pending] == [23.4]  # the throughput it opts into (ml-platform:policy)
    assert dev.cost["hourlyUsdIdle"] - 23.4 <= 1.0
    endpoints = dev.of_type("aws:sagemaker/endpoint:Endpoint")
    assert [e["name"] for e in endpoints] == ["mlplat-dev-bge-embeddings-endpoint"]
    assert not any(r["protect"] for r in dev.resources)
    pts = dev.of_type("aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput")
    assert all("commitmentDuration" not in p["inputs"] for p in pts)
    domain = dev.get("aws:sagemaker/domain:Domain", "mlplat-dev-canvas-domain")["inputs"]
    assert domain["appNetworkAccessType"] == "PublicInternetOnly"
    assert domain["defaultUserSettings"]["defaultLandingUri"] == "app:Canvas:"
    assert dev.of_type("kubernetes:kubeflow.org/v1:PyTorchJob")


def test_prod_is_restricted_protected_and_complete(prod):
    cluster = prod.get("aws:eks/cluster:Cluster", "mlplat-prod-gpu-cluster")
    vpc_config = cluster["inputs"]["vpcConfig"]
    assert vpc_config["endpointPrivateAccess"] is True and cluster["protect"] is True
    assert vpc_config["publicAccessCidrs"] and not any(c.endswith("/0") for c in vpc_config["publicAccessCidrs"])
    assert prod.get("aws:kms/key:Key", "mlplat-prod-data-key")["protect"] is True
    domain = prod.get("aws:sagemaker/domain:Domain", "mlplat-prod-canvas-domain")
    assert domain["protect"] and domain["inputs"]["appNetworkAccessType"] == "VpcOnly"
    pt = prod.get("aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput", "mlplat-prod-pets-serving-pt")
    assert pt["protect"] and pt["inputs"]["commitmentDuration"] == "OneMonth"
    p5 = prod.get("aws:ec2/launchTemplate:LaunchTemplate", "mlplat-prod-gpu-p5")["inputs"]
    assert "capacityReservationSpecification" in p5 and "placement" not in p5
    assert {e["name"] for e in prod.of_type("aws:sagemaker/endpoint:Endpoint")} == {
        "mlplat-prod-mixtral-8x7b-endpoint", "mlplat-prod-bge-embeddings-endpoint",
        "mlplat-prod-solar-mini-chat-endpoint"}
    assert len(prod.of_type("aws:appautoscaling/target:Target")) == 3
    (job,) = [j for j in prod.of_type("kubernetes:kubeflow.org/v1:PyTorchJob") if "preflight" not in j["name"]]
    worker = job["inputs"]["spec"]["pytorchReplicaSpecs"]["Worker"]
    assert worker["replicas"] == 2
    assert worker["template"]["spec"]["nodeSelector"]["node.kubernetes.io/instance-type"] == "p5.48xlarge"


def _urns(view, prefix: str) -> set[str]:
    return {r["urn"] for r in view.resources if r["name"].startswith(prefix)}


def test_independent_capabilities_do_not_wait_on_each_other(prod):
    cluster = _urns(prod, "mlplat-prod-gpu") | _urns(prod, "mlplat-prod-ops")
    canvas = _urns(prod, "mlplat-prod-canvas")
    endpoints = _urns(prod, "mlplat-prod-mixtral") | _urns(prod, "mlplat-prod-bge") | _urns(prod, "mlplat-prod-solar")
    for group, others in ((canvas, cluster | endpoints), (endpoints, cluster | canvas), (cluster, canvas | endpoints)):
        for urn in group:
            assert not transitive_dependencies(prod.resources, urn) & others, urn
    for a, b in edges(prod.resources):
        assert not (a in cluster and b in canvas), (a, b)


def test_critical_path_runs_through_the_cluster(prod):
    total, chain = critical_path(prod.resources)
    types = [r["type"] for r in chain]
    assert "aws:eks/cluster:Cluster" in types and "aws:eks/nodeGroup:NodeGroup" in types
    assert 15 <= total <= 60
    mermaid = render(prod.resources, detail=True)
    assert mermaid.startswith("flowchart LR") and 'subgraph' in mermaid and "-->" in mermaid
    assert render(prod.resources, "dot").startswith("digraph plan {")


def test_readme_cost_row_is_generated_from_the_shipped_plans(shipped):
    """The row is written by `make generate` (mlplat/readme.py): in sync, or the message says what to run."""
    from mlplat.readme import cost_row, row_day
    from tests.helpers import ROOT

    readme = (ROOT / "README.md").read_text()
    row = cost_row({s: shipped[s].plan for s in ("dev", "staging", "prod")}, row_day(readme))
    assert row in readme.splitlines(), f"README cost row is stale: run make generate ({row})"




def test_the_policy_table_lists_every_policy_the_pack_serves():
    """Generated from the pack by `make generate` (mlplat/readme.py): a new policy cannot be missing from it."""
    from mlplat.readme import policy_table
    from policies.pack import ALL_POLICIES
    from tests.helpers import ROOT

    table = policy_table()
    assert table in (ROOT / "docs" / "policies.md").read_text(), "docs/policies.md's table is stale: make generate"
    assert table.count("\n") - 1 == len(ALL_POLICIES)


def test_a_marketplace_models_software_fee_is_named_as_not_included(prod):
    """Solar is a Marketplace model package: the listing adds its own price per instance-hour, which the catalog does
    not have; the cost view says so on that endpoint only."""
    items = {i["name"]: i for i in prod.cost["items"]}
    fee = "plus the Marketplace listing's software fee per instance-hour (not included)"
    assert fee in items["mlplat-prod-solar-mini-chat-config"]["detail"]
    assert fee not in items["mlplat-prod-bge-embeddings-config"]["detail"]


def test_each_shipped_environments_idle_cost_worked_by_hand(shipped):
    """The cost row is generated by the code it shows, so one figure per environment is worked out here by hand,
    from list prices written out (us-east-1, on-demand): an error in the pricing code cannot agree with it."""
    kms = 1 / 730  # $1 per key-month
    control_plane, nat, endpoint_az = 0.10, 0.045, 0.01
    dev = 0.096 + control_plane + nat + kms  # 1 x m5.large system node
    staging = (2 * 27.447  # the p4de pool's reservation, 2 x p4de.24xlarge, billed whether used or not
               + 20.36 + 1.515  # Mixtral on ml.g5.48xlarge and BGE on ml.g5.2xlarge, one instance each
               + 2 * 0.34 + 0.24  # 2 x c5.2xlarge system nodes, 1 OpenSearch Serverless OCU
               + 1200 * 0.145 / 730  # FSx for Lustre PERSISTENT_2 at 125 MB/s/TiB, 1,200 GiB
               + control_plane + nat + 8 * 3 * endpoint_az + kms)  # 8 interface endpoints in 3 AZs
    prod = (16 * 55.04  # the p5 reservation, 16 x p5.48xlarge
            + 20.36 + 2 * 1.515 + 2 * 0.34  # Mixtral, BGE and Solar at their minimum, 2 system nodes
            + control_plane + 3 * nat + 7 * 3 * endpoint_az + kms)
    for stack, by_hand in (("dev", dev), ("staging", staging), ("prod", prod)):
        assert shipped[stack].plan["cost"]["hourlyUsdIdle"] == round(by_hand, 2), stack
