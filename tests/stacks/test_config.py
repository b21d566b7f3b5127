"""The config contract: every problem is one line naming the key path, the expectation and what was found."""

from __future__ import annotations

import pytest

from stacks.config import PlatformConfig, parse
from stacks.errors import ConfigError
from tests.helpers import config, values


def _problems(cfg: dict, secret_keys: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(values(cfg), secret_keys)
    return info.value.problems


def test_valid_config_parses_with_environment_defaults():
    cfg = parse(values(config()))
    assert isinstance(cfg, PlatformConfig)
    assert cfg.environment == "dev"
    assert cfg.network.nat_gateways == "single"
    assert cfg.defaults.kms_deletion_window_days == 7


def test_prod_defaults_to_nat_per_az_and_protection():
    cfg = parse(values(config(environment="prod")))
    assert cfg.network.nat_gateways == "perAz"
    assert cfg.defaults.protect_stateful is True
    assert cfg.defaults.cluster_endpoint_public is False


def test_explicit_value_beats_environment_default():
    net = dict(config()["ml-platform:network"], natGateways="perAz")
    assert parse(values(config(network=net))).network.nat_gateways == "perAz"


def test_wrong_environment_names_allowed_values_and_found():
    (line,) = _problems(config(environment="qa"))
    assert line.startswith("ml-platform:environment: ")
    assert "'dev', 'staging' or 'prod'" in line
    assert "found 'qa'" in line


def test_unknown_key_is_rejected_with_allowed_keys():
    tags = {"owner": "a", "costCenter": "b", "colour": "red"}
    (line,) = _problems(config(tags=tags))
    assert line.startswith("ml-platform:tags.colour: unknown key")
    assert "owner, costCenter, extra" in line


def test_unknown_top_level_key_is_rejected():
    (line,) = _problems(config(gpuClustr={"enabled": True}))
    assert line.startswith("ml-platform:gpuClustr: unknown key")


def test_missing_required_key():
    (line,) = _problems(config(tags={"owner": "a"}))
    assert line == "ml-platform:tags.costCenter: required key is missing"


def test_three_mistakes_give_three_lines():
    net = {"vpcCidr": "10.0.0.0/8", "availabilityZones": ["us-east-1a", "us-east-1b"]}
    problems = _problems(config(environment="qa", network=net, tags={"owner": "a", "costCenter": 5}))
    assert len(problems) == 3, problems
    assert any(p.startswith("ml-platform:network.vpcCidr: expected a prefix length from /16 to /20") for p in problems)
    assert any(p.startswith("ml-platform:tags.costCenter:") and "found 5" in p for p in problems)


def test_list_index_in_key_path():
    net = {"availabilityZones": ["us-east-1a", "nowhere"]}
    (line,) = _problems(config(network=net))
    assert line == ("ml-platform:network.availabilityZones[1]: expected an availability-zone name such as us-east-1a; "
                    "found 'nowhere'")


def test_a_cidr_with_host_bits_says_which_network_it_means():
    (line,) = _problems(config(network={"vpcCidr": "10.60.0.1/16", "availabilityZones": ["us-east-1a", "us-east-1b"]}))
    assert line == ("ml-platform:network.vpcCidr: expected the network's own address (10.60.0.0/16), without host "
                    "bits set; found '10.60.0.1/16'")


def test_az_outside_region_is_a_cross_check_error():
    net = {"availabilityZones": ["us-east-1a", "us-west-2b"]}
    (line,) = _problems(config(network=net))
    assert line == "ml-platform:network.availabilityZones[1]: expected an AZ of region us-east-1; found 'us-west-2b'"


def test_region_is_checked():
    (line,) = _problems(config(**{"aws:region": "mars-1"}))
    assert line.startswith("aws:region: expected one of us-east-1")


def test_reserved_tag_keys_rejected():
    (line,) = _problems(config(tags={"owner": "a", "costCenter": "b", "extra": {"environment": "x"}}))
    assert line.startswith("ml-platform:tags.extra:") and "environment" in line


def test_malformed_structured_value():
    raw = values(config())
    raw["ml-platform:network"] = "{not json"
    with pytest.raises(ConfigError) as info:
        parse(raw)
    assert info.value.problems[0].startswith("ml-platform:network: expected valid structured")


def test_existing_vpc_must_cover_every_az():
    net = {
        "availabilityZones": ["us-east-1a", "us-east-1b"],
        "existing": {"vpcId": "vpc-0123456789abcdef0", "vpcCidr": "10.1.0.0/16",
                     "privateSubnetIds": {"us-east-1a": "subnet-0123456789abcdef0"}},
    }
    (line,) = _problems(config(network=net))
    assert line == ("ml-platform:network.existing.privateSubnetIds: expected a subnet for every availability zone; "
                    "found none for us-east-1b")


_GROUP = {"name": "p5", "instanceType": "p5.48xlarge", "availabilityZone": "us-east-1a", "maxSize": 2}
_CLUSTER = {"enabled": True, "publicAccessCidrs": ["198.51.100.0/24"], "nodeGroups": [_GROUP]}
_JOB = {"name": "llama", "runId": "r1", "nodeGroup": "p5", "workers": 2,
       "image": "1.dkr.ecr.us-east-1.amazonaws.com/fsdp:v1"}
_REPORT = {"team": "web", "source": {"type": "s3", "bucket": "exports", "key": "dora.json"},
           "sender": "kpi@example.com", "subscribers": ["lead@example.com"]}


@pytest.mark.parametrize("overrides,path", [
    ({"endpoints": [{"name": "bge", "modelId": "huggingface-sentencesimilarity-bge-large-en"}] * 2},
     "endpoints[1].name: expected a unique name; 'bge' is also endpoints[0].name"),
    ({"gpuCluster": _CLUSTER, "trainingJobs": [_JOB, _JOB]},
     "trainingJobs[1].name: expected a unique name; 'llama' is also trainingJobs[0].name"),
    ({"bedrock": {"provisionedThroughput": [{"name": "pt", "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/"
                                                                       "amazon.titan-image-generator-v1"}] * 2}},
     "bedrock.provisionedThroughput[1].name: expected a unique name; 'pt' is also provisionedThroughput[0].name"),
    ({"kpiReports": [_REPORT, _REPORT]},
     "kpiReports[1].team: expected a unique team; 'web' is also kpiReports[0].team"),
])
def test_names_are_unique_per_list_and_the_repeat_is_named(overrides, path):
    (line,) = _problems(config(**overrides))
    assert line == f"ml-platform:{path}"


def test_messages_name_what_a_person_writes_not_the_validators_internals(tmp_path):
    """No model class names, no regular expressions, a hint for a version YAML read as a number, and a stack file
    whose config is not a mapping said so once."""
    from tests.helpers import run_cli

    gpu = _problems(config(gpuCluster="yes"))
    assert gpu[0].startswith("ml-platform:gpuCluster: expected a mapping of its keys (enabled, kubernetesVersion")
    assert "GpuClusterArgs" not in gpu[0]
    (version,) = _problems(config(gpuCluster={"kubernetesVersion": 1.35}))
    assert "(quote it: YAML reads 1.35 as a number, not text); found 1.35" in version
    (pattern,) = _problems(config(network={"vpcCidr": "10.0.0.0/16", "availabilityZones": ["us-east-1a", "us-east-1b"],
                                           "fromStack": "bad stack"}))
    assert pattern.startswith("ml-platform:network.fromStack: expected the form this key documents: Use the VPC")
    assert "^" not in pattern and "\\w" not in pattern
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text("config: []\n")
    result = run_cli("plan", "dev", "--config-file", str(path))
    assert result.returncode == 2 and result.stderr.strip() == (
        f"error: {path}: config: expected a mapping of key: value (such as `aws:region: us-east-1`); found a list of "
        "0 items")
