"""A stack's own policy settings (`ml-platform:policy`): checked against the pack's schemas before anything runs,
merged over the environment's, and shown by `mlplat plan` beside the environment's value."""

from __future__ import annotations

import json

import pytest

from tests.helpers import config, run_cli

BUDGET = "bedrock-throughput-budget"
THROUGHPUT = {"provisionedThroughput": [{"name": "fm", "modelUnits": 1, "modelArn":
                                         "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-lite-v1:0:4k"}]}


def _plan(tmp_path, **overrides):
    path = tmp_path / "Pulumi.dev-o.yaml"
    path.write_text(json.dumps({"config": config(environment="dev", **overrides)}))
    return run_cli("plan", "dev-o", "--config-file", str(path))


def test_dev_refuses_throughput_unless_the_stack_opts_in(tmp_path):
    refused = _plan(tmp_path, bedrock=THROUGHPUT)
    assert refused.returncode == 1
    assert (f"{BUDGET}: Bedrock Provisioned Throughput would cost $7.10/h ($5,183/month), over this environment's "
            "maxThroughputUsdPerHour of $0.00") in refused.stdout
    allowed = _plan(tmp_path, bedrock=THROUGHPUT, policy={BUDGET: {"maxThroughputUsdPerHour": 10}})
    assert allowed.returncode == 0, allowed.stdout
    assert f"{BUDGET}.maxThroughputUsdPerHour: 10 (environment: 0)" in allowed.stdout


@pytest.mark.parametrize(("policy", "message"), [
    ({"no-such-policy": {"x": 1}}, "ml-platform:policy.no-such-policy: expected a policy of the pack"),
    ({BUDGET: {"enforcementLevel": "disabled"}},
     f"ml-platform:policy.{BUDGET}.enforcementLevel: expected one of maxThroughputUsdPerHour (a stack sets a "
     "policy's settings, never its enforcement level); found that key"),
    ({BUDGET: {"maxThroughputUsdPerHour": -1}}, f"ml-platform:policy.{BUDGET}.maxThroughputUsdPerHour: -1 is less "
                                                "than the minimum of 0"),
    ({"kms-key-rotation": {"x": True}}, "ml-platform:policy.kms-key-rotation: this policy has no settings"),
])
def test_wrong_settings_exit_2_naming_the_key(tmp_path, policy, message):
    result = _plan(tmp_path, policy=policy)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_plan_judges_with_the_pack_config_it_is_given(tmp_path):
    """`mlplat plan --policy-config FILE`, as `pulumi preview --policy-pack-config FILE`: the file replaces the
    environment's config; a file that does not fit the policies' schemas is exit 2, as the CLI refuses it."""
    from tests.helpers import ROOT

    pack = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
    pack[BUDGET] = {"maxThroughputUsdPerHour": 10}
    path = tmp_path / "Pulumi.dev-o.yaml"
    path.write_text(json.dumps({"config": config(environment="dev", bedrock=THROUGHPUT)}))
    (tmp_path / "pack.json").write_text(json.dumps(pack))
    judged = run_cli("plan", "dev-o", "--config-file", str(path), "--policy-config", str(tmp_path / "pack.json"))
    assert judged.returncode == 0, judged.stdout
    (tmp_path / "bad.json").write_text(json.dumps({BUDGET: {"maxThroughputUsdPerHour": "lots"}}))
    bad = run_cli("plan", "dev-o", "--config-file", str(path), "--policy-config", str(tmp_path / "bad.json"))
    assert bad.returncode == 2
    assert f"{BUDGET}.maxThroughputUsdPerHour: 'lots' is not of type 'number'" in bad.stderr
