"""Two stacks of one environment in one account: every fixed physical name follows the stack (or `namePrefix`), so
the second `pulumi up` does not fail on "already exists"; and every such name is one the create API accepts
(botocore's request shapes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlplat.names import NOT_NAMES, REFERENCES, RULES, collisions, name_like, name_problems, physical_names
from tests.helpers import ENVIRONMENTS, plan_environment, plan_stack, run_cli

ENVS = ("dev", "staging", "prod")


@pytest.fixture(scope="module")
def pairs() -> dict[str, tuple]:
    """Each test environment planned as its own stack and as a second stack (`<env>-teamx`) from the same file."""
    return {env: (plan_environment(env), plan_stack(f"{env}-teamx", config_file=ENVIRONMENTS / f"Pulumi.{env}.yaml"))
            for env in ENVS}


def test_two_stacks_from_one_stack_file_share_no_physical_name(pairs):
    for env, (first, second) in pairs.items():
        assert physical_names(second.resources), env
        clashes = collisions(first.resources, second.resources)
        assert clashes == [], "\n".join(f"{a.value} ({a.type}.{a.prop}): {a.urn} / {b.urn}" for a, b in clashes)


def test_every_kind_of_fixed_name_is_exercised_and_the_shipped_names_did_not_move(pairs):
    """Each rule's resource type appears in some plan (so disjointness is tested for it), and the stack named after
    its environment keeps the names deployments already have."""
    seen = {(n.type, n.prop) for first, _ in pairs.values() for n in physical_names(first.resources)}
    assert seen == {(r.type, r.prop) for r in RULES}
    dev, teamx = pairs["dev"]
    aliases = [r["inputs"]["name"] for r in dev.of_type("aws:kms/alias:Alias")]
    assert aliases == ["alias/ml-platform/dev"]
    assert [r["inputs"]["name"] for r in teamx.of_type("aws:kms/alias:Alias")] == ["alias/ml-platform/dev-teamx"]
    assert dev.get("aws:eks/cluster:Cluster", "mlplat-dev-gpu-cluster")["inputs"]["name"] == "mlplat-dev-gpu"
    secrets = sorted(r["inputs"]["name"] for r in teamx.of_type("aws:secretsmanager/secret:Secret"))
    assert secrets == ["dev-teamx/talkdesk/client/keys", "dev-teamx/talkdesk/touchpoint/ids"]


def test_every_name_like_input_is_classified(pairs):
    """A new resource with a fixed name cannot slip past the disjointness test: every name-like input of every
    planned type is a rule, a reference to another resource, or a name that is not the resource's own (with why)."""
    rules = {(r.type, r.prop) for r in RULES}
    unclassified = set()
    for plans in pairs.values():
        for plan in plans:
            for r in plan.resources:
                if not r["custom"] or r["type"].startswith(("kubernetes:", "pulumi:")):
                    continue
                for prop in r["inputs"]:
                    key = (r["type"], prop)
                    if name_like(prop) and key not in rules and key not in NOT_NAMES and prop not in REFERENCES:
                        unclassified.add(key)
    assert unclassified == set()


def test_a_name_prefix_keeps_an_older_stacks_names(pairs, tmp_path: Path):
    """`namePrefix: mlplat-dev` on a stack `dev-eu` gives exactly the names stack `dev` has (the upgrade path of a
    stack deployed before names followed the stack)."""
    text = (ENVIRONMENTS / "Pulumi.dev.yaml").read_text()
    path = tmp_path / "Pulumi.dev-eu.yaml"
    path.write_text(text.replace("config:\n", "config:\n  ml-platform:namePrefix: mlplat-dev\n", 1))
    kept = plan_stack("dev-eu", config_file=path)
    names = {(n.type, n.prop, n.value) for n in physical_names(kept.resources)}
    assert names == {(n.type, n.prop, n.value) for n in physical_names(pairs["dev"][0].resources)}


@pytest.mark.parametrize(("prefix", "expected"), [
    ("mlplat-dev-this-is-far-too-long", "3 to 23 characters"),
    ("mlplat_dev", "lowercase letters, digits and hyphens only"),
    ("9lives", "starts with a letter"),
])
def test_a_bad_name_prefix_is_refused_with_the_key_named(tmp_path: Path, prefix: str, expected: str):
    text = (ENVIRONMENTS / "Pulumi.dev.yaml").read_text()
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(text.replace("config:\n", f"config:\n  ml-platform:namePrefix: {prefix}\n", 1))
    result = run_cli("plan", "dev", "--config-file", str(path), "--quiet")
    assert result.returncode == 2, result.stdout
    assert "ml-platform:namePrefix" in result.stderr and expected in result.stderr, result.stderr


def test_a_stack_name_too_long_for_names_asks_for_a_prefix(tmp_path: Path):
    path = tmp_path / "Pulumi.dev-review-4711-feature.yaml"
    path.write_text((ENVIRONMENTS / "Pulumi.dev.yaml").read_text())
    result = run_cli("plan", "dev-review-4711-feature", "--config-file", str(path), "--quiet")
    assert result.returncode == 2
    assert "ml-platform:namePrefix" in result.stderr and "'mlplat-dev-review-4711-feature'" in result.stderr


def _resource(typ: str, **inputs: str) -> dict:
    return {"urn": f"urn:pulumi:dev::ml-platform::{typ}::x", "type": typ, "custom": True, "inputs": inputs}


def test_names_the_create_api_refuses_are_plan_violations_one_reason_each():
    """Each refusal once: too long (OpenSearch policy, 33 of 32), a character the pattern refuses (a Bedrock job
    name with `_`), an S3 bucket with an uppercase letter; the same resources with accepted names pass."""
    bad = [_resource("aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy", name="a" * 33),
           _resource("aws:bedrock/customModel:CustomModel", jobName="mlplat_dev_pets", customModelName="ok-1"),
           _resource("aws:s3/bucket:Bucket", bucket="mlplat-Dev-logs")]
    found = name_problems(bad)
    assert [(f["urn"].rsplit("::", 2)[1], f["policy"]) for f in found] == [
        ("aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy", "physical-name-accepted"),
        ("aws:bedrock/customModel:CustomModel", "physical-name-accepted"),
        ("aws:s3/bucket:Bucket", "physical-name-accepted")]
    assert "3-32 characters (33 here)" in found[0]["message"]
    assert "jobName 'mlplat_dev_pets'" in found[1]["message"]
    good = [_resource("aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy", name="a" * 32),
            _resource("aws:bedrock/customModel:CustomModel", jobName="mlplat-dev-pets", customModelName="ok-1"),
            _resource("aws:s3/bucket:Bucket", bucket="mlplat-dev-logs")]
    assert name_problems(good) == []
