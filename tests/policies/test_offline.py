"""The pack evaluated offline on real plans: shipped stacks clean, a broken stack caught, same results in check."""

from __future__ import annotations

import json

import pytest

from policies.offline import evaluate, load_pack_config
from policies.overrides import merged
from tests.helpers import ROOT, run_cli

BROKEN = ROOT / "tests/fixtures/Pulumi.dev-broken.yaml"
EXPECTED_BROKEN = {"gpu-hourly-budget", "gpu-scale-to-zero", "instance-types-allowed"}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_shipped_stacks_have_no_mandatory_violation(stack, shipped):
    plan = shipped[stack].plan
    mandatory = [v for v in plan["policy"]["violations"] if v["enforcementLevel"] == "mandatory"]
    assert mandatory == []


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """The broken fixture stack planned once: (the plan command's result, the plan file)."""
    out = tmp_path_factory.mktemp("broken") / "broken.json"
    return run_cli("plan", "dev-broken", "--config-file", str(BROKEN), "--json", str(out)), out


def test_broken_stack_exits_1_with_the_expected_violations(broken):
    result, out = broken
    assert result.returncode == 1, result.stderr
    violations = json.loads(out.read_text())["policy"]["violations"]
    assert {v["policy"] for v in violations} == EXPECTED_BROKEN
    assert all(v["enforcementLevel"] == "mandatory" for v in violations)
    budget = next(v for v in violations if v["policy"] == "gpu-hourly-budget")
    assert "$220.16/h" in budget["message"] and "$25.00/h" in budget["message"]
    for name in ("[mandatory] gpu-scale-to-zero", "[mandatory] instance-types-allowed"):
        assert name in result.stdout
    check = run_cli("check", str(out))
    assert check.returncode == 1
    assert check.stdout.count("[mandatory]") == len(violations)


def test_check_honours_a_pack_config_override(tmp_path, broken):
    _, out = broken
    override = tmp_path / "advisory.json"
    override.write_text(json.dumps({"all": "advisory", "gpu-scale-to-zero": {"requireScaleToZero": True}}))
    result = run_cli("check", str(out), "--policy-config", str(override))
    assert result.returncode == 0
    assert "[advisory] gpu-scale-to-zero" in result.stdout
    assert "instance-types-allowed" not in result.stdout, "the override replaces the environment's config"


def test_unknown_values_report_nothing_rather_than_a_false_violation(envs):
    plan = envs["dev"].plan
    resources = json.loads(json.dumps(plan["resources"]))
    for r in resources:
        if r["type"] == "aws:eks/cluster:Cluster":
            r["inputs"]["encryptionConfig"] = "[unknown]"
            r["inputs"]["vpcConfig"] = "[unknown]"
        if r["type"] == "aws:kms/key:Key":
            r["inputs"]["enableKeyRotation"] = "[unknown]"
    # dev's pack config with the stack's own settings (it opts into one throughput), as the plan judges it
    pack = merged(load_pack_config("dev"), plan["policyOverrides"])
    assert evaluate(resources, pack) == []
    for r in resources:
        if r["type"] == "aws:kms/key:Key":
            r["inputs"]["enableKeyRotation"] = False
    assert [v["policy"] for v in evaluate(resources, pack)] == ["kms-key-rotation"]


def test_disabled_policy_is_skipped(envs):
    plan = envs["dev"].plan
    resources = json.loads(json.dumps(plan["resources"]))
    for r in resources:
        if r["type"] == "aws:kms/key:Key":
            r["inputs"]["enableKeyRotation"] = False
    assert evaluate(resources, {"kms-key-rotation": {"enforcementLevel": "disabled"}, **plan["policyOverrides"]}) == []


def test_check_prints_each_violations_remediation_and_documentation(broken):
    _, out = broken
    result = run_cli("check", str(out))
    assert "fix: Lower maxSize, or raise maxHourlyGpuUsd" in result.stdout
    # The remediation names the files a person edits: the stack's own, or the environment's source.
    assert "Pulumi.<stack>.yaml (ml-platform:policy:" in result.stdout and "stacks/environments.py" in result.stdout
    assert "docs: https://aws.amazon.com/ec2/pricing/on-demand/" in result.stdout


def test_a_pack_config_that_does_not_fit_a_schema_is_refused(tmp_path, broken):
    _, out = broken
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"gpu-hourly-budget": {"maxHourlyGpuUsd": "lots"}}))
    result = run_cli("check", str(out), "--policy-config", str(bad))
    assert result.returncode == 2
    assert "gpu-hourly-budget.maxHourlyGpuUsd: 'lots' is not of type 'number'" in result.stderr


def test_first_preview_plan_says_which_policies_ran(tmp_path):
    out = tmp_path / "first.json"
    result = run_cli("plan", "dev-broken", "--config-file", str(BROKEN), "--first-preview", "--json", str(out))
    assert result.returncode == 1, result.stderr
    assert "first preview: " in result.stdout and "ran      gpu-hourly-budget" in result.stdout
    plan = json.loads(out.read_text())
    assert plan["preview"] == "first"
    assert {v["policy"] for v in plan["policy"]["violations"]} == EXPECTED_BROKEN
    skipped = {s["policy"] for s in plan["policy"]["skipped"]}
    check = run_cli("check", str(out))
    for policy in skipped:
        assert f"skipped  {policy}: string value at ." in check.stdout
