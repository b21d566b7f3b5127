"""One environment table: config defaults and the policy pack's per-environment config come from it."""

from __future__ import annotations

import json

import pytest

from policies.offline import load_pack_config
from stacks.config import parse
from stacks.environments import CONFIG_DEFAULTS, ENVIRONMENT_DEFAULTS, pack_config_text
from tests.helpers import ROOT, config, values


@pytest.mark.parametrize("environment", sorted(ENVIRONMENT_DEFAULTS))
def test_committed_pack_config_is_generated_from_the_table(environment):
    path = ROOT / "policies" / "config" / f"{environment}.json"
    assert path.read_text() == pack_config_text(environment), "run `make generate`"
    assert load_pack_config(environment) == json.loads(pack_config_text(environment))


@pytest.mark.parametrize("environment", sorted(ENVIRONMENT_DEFAULTS))
def test_no_setting_is_left_undecided_after_parsing(environment):
    net = {"vpcCidr": "10.0.0.0/16", "availabilityZones": ["us-east-1a", "us-east-1b"],
           "interfaceEndpoints": ["sagemaker.api", "sagemaker.runtime", "sts", "logs", "bedrock-runtime"]}
    cfg = parse(values(config(environment=environment, network=net)))
    defaults = ENVIRONMENT_DEFAULTS[environment]
    for (section, key), setting in CONFIG_DEFAULTS:
        model = getattr(cfg, {"gpuCluster": "gpu_cluster", "liveChat": "live_chat"}.get(section, section))
        field = next(name for name, f in type(model).model_fields.items() if f.alias == key)
        assert getattr(model, field) == getattr(defaults, setting), (section, key)


def test_a_value_in_the_stack_file_wins_over_the_environment_default():
    net = {"vpcCidr": "10.0.0.0/16", "availabilityZones": ["us-east-1a", "us-east-1b"], "natGateways": "perAz"}
    assert parse(values(config(network=net))).network.nat_gateways == "perAz"
