"""The pack judged over Pulumi's analyzer protocol, as `pulumi preview --policy-pack policies` judges it.

One pack process per module, started as the CLI starts it (`policies/__main__.py`, which prints the
port it serves), driven over gRPC with every shipped plan, every bad plan and their first-preview
forms. Its verdict must equal the offline check's, resource by resource.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import json_format
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policies.offline import judge_plan, load_pack_config
from policies.protocol import Requests, Verdict, judge
from tests.helpers import ROOT, plan_environment, plan_stack

BROKEN = ROOT / "tests/fixtures/Pulumi.dev-broken.yaml"
FORMS = (False, True)  # the update preview, then the first preview of a new stack
#: Policies that read whole policy documents naming a KMS key ARN or VPC endpoint id the stack creates.
DOCUMENTS_OF_COMPUTED_ARNS = {"iam-no-wildcard-writes", "opensearch-serverless-private-encrypted"}


def pack_command(pack: Path) -> tuple[list[str], dict[str, str]]:
    """The command and environment the Pulumi CLI starts a local Python pack with.

    pulumi/pulumi `pkg/resource/plugin/analyzer_plugin.go` `NewPolicyAnalyzer` runs the pack's language host with
    the engine's address; `sdk/python/cmd/pulumi-language-python` `RunPlugin` resolves `runtime.options.virtualenv`
    against the pack's folder (pip toolchain: `filepath.Join(root, virtualenv)`), creates nothing, and runs
    `<venv>/bin/python -u -m pulumi.policy <engine address> <pack folder>` there with PULUMI_CONFIG, PULUMI_PROJECT,
    PULUMI_STACK and PULUMI_DRY_RUN set (read at pulumi v3.259).
    """
    runtime = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())["runtime"]
    assert runtime["name"] == "python"
    options = runtime.get("options") or {}
    assert options.get("toolchain", "pip") == "pip", "this start-up follows the pip toolchain's rules"
    python = pack / options["virtualenv"] / "bin" / "python"
    assert python.is_file(), f"{python} does not exist: the CLI would fail to start the pack (make policy-pack)"
    env = {**os.environ, "PULUMI_CONFIG": "{}", "PULUMI_PROJECT": "ml-platform", "PULUMI_STACK": "dev",
           "PULUMI_DRY_RUN": "true"}
    env.pop("PYTHONPATH", None)
    return [str(python), "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(pack)], env


@pytest.fixture(scope="module")
def served() -> Iterator[Callable[[str, Any], Any]]:
    """The pack as the CLI starts it: its own interpreter (PulumiPolicy.yaml), `-m pulumi.policy`, the port it
    prints on its first line; then spoken to over gRPC."""
    command, env = pack_command(ROOT / "policies")
    proc = subprocess.Popen(command, cwd=ROOT / "policies", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        port = (proc.stdout.readline() if proc.stdout else "").strip()
        assert port.isdigit(), f"the pack printed no port: {proc.stderr.read() if proc.stderr else ''}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        stub = analyzer_pb2_grpc.AnalyzerStub(channel)
        yield lambda method, request: getattr(stub, method)(request, timeout=30)
        channel.close()
    finally:
        proc.kill()
        proc.wait()


def test_the_pack_interpreter_has_the_versions_the_offline_check_uses():
    """policies/requirements.txt pins what the offline check runs with (constraints.txt), and the interpreter the
    CLI starts has exactly those versions installed."""
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    normal = {k.lower().replace("_", "-"): v for k, v in pins.items()}
    wanted = [line for line in (ROOT / "policies/requirements.txt").read_text().splitlines()
              if line and not line.startswith(("#", "-"))]
    assert wanted and all("==" in line for line in wanted), wanted
    for line in wanted:
        name, version = line.split("==")
        assert normal[name.lower()] == version, f"{name}: pack {version}, offline check {normal[name.lower()]}"
    command, env = pack_command(ROOT / "policies")
    listed = subprocess.run([command[0], "-c", "import importlib.metadata as m, json; print(json.dumps("
                             "{d.metadata['Name'].lower().replace('_', '-'): d.version for d in m.distributions()}))"],
                            capture_output=True, text=True, env=env, check=True)
    installed = json.loads(listed.stdout)
    for name in ("pulumi", "pulumi-policy", "protobuf", "grpcio", "pydantic"):
        assert installed[name] == normal[name], f"{name}: pack venv {installed[name]}, constraints {normal[name]}"


def _key(v: dict[str, Any]) -> tuple:
    return v["urn"] or "", v["policy"], v["enforcementLevel"], v["message"]


def both(served, resources: list[dict[str, Any]], environment: str, planned: dict | None = None) -> Verdict:
    """The served pack's verdict, asserted equal to the offline check's; returns it. `planned`: the plan's own
    `policy` section, which `mlplat plan` computed offline for these very resources (no need to judge again)."""
    config = load_pack_config(environment)
    online = judge(served, resources, config)
    offline = Verdict(planned["violations"], planned["skipped"]) if planned else judge_plan(resources, config)
    assert sorted(map(_key, online.violations)) == sorted(map(_key, offline.violations))
    assert online.skipped == offline.skipped
    return online


def mandatory(verdict: Verdict) -> list[tuple[str, str]]:
    return sorted((v["policy"], (v["urn"] or "").rsplit("::", 1)[-1]) for v in verdict.violations
                  if v["enforcementLevel"] == "mandatory")


@pytest.mark.parametrize("first_preview", FORMS, ids=["update", "first-preview"])
@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_shipped_plans_are_clean_over_the_protocol(served, stack, first_preview):
    plan = plan_stack(stack, first_preview=first_preview).plan
    verdict = both(served, plan["resources"], stack, plan["policy"])
    assert mandatory(verdict) == []
    if first_preview:
        # Stack policies are skipped whole by an unknown value: none may be. Resource policies may skip only
        # where a whole document is built from a key's or endpoint's computed ARN (README: first preview).
        kinds = {name: about["kind"] for name, about in verdict.policies.items()}
        assert [s for s in verdict.skipped if kinds[s["policy"]] == "POLICY_TYPE_STACK"] == []
        assert {s["policy"] for s in verdict.skipped} <= DOCUMENTS_OF_COMPUTED_ARNS


def test_numbers_arrive_as_doubles_and_unknowns_as_the_sentinel():
    """What the engine's marshaller sends, checked on the request itself (not through our own reader)."""
    fn = {"urn": "urn:pulumi:s::p::aws:lambda/function:Function::f", "type": "aws:lambda/function:Function",
          "name": "f", "inputs": {"reservedConcurrentExecutions": 20, "kmsKeyArn": "[unknown]"}}
    request = json_format.MessageToDict(Requests([fn]).analyze(fn))
    assert request["properties"] == {"reservedConcurrentExecutions": 20.0, "kmsKeyArn": UNKNOWN_STRING_VALUE}
    assert isinstance(request["properties"]["reservedConcurrentExecutions"], float)


def test_broken_stack_is_caught_in_both_forms(served):
    for first_preview in FORMS:
        plan = plan_stack("dev-broken", first_preview=first_preview, config_file=BROKEN).plan
        verdict = both(served, plan["resources"], "dev", plan["policy"])
        assert {p for p, _ in mandatory(verdict)} == {"gpu-hourly-budget", "gpu-scale-to-zero",
                                                      "instance-types-allowed"}, first_preview


def _edit(resources: list[dict[str, Any]], typ: str, name_suffix: str, change: Callable[[dict], None]) -> str:
    """Apply `change` to the inputs and outputs of the one resource of `typ` whose name ends so; its name."""
    found = [r for r in resources if r["type"] == typ and r["name"].endswith(name_suffix)]
    assert found, f"no {typ} named *{name_suffix}"
    for part in ("inputs", "outputs"):
        change(found[0][part])
    return found[0]["name"]


def _drop(key: str) -> Callable[[dict], None]:
    return lambda props: props.pop(key, None)


def _second_subnet(props: dict) -> None:
    props["subnetIds"] = [*props["subnetIds"], props["subnetIds"][0]]


def _drop_logging(resources: list[dict[str, Any]]) -> str:
    logging = next(r for r in resources if r["type"] == "aws:s3/bucketLogging:BucketLogging"
                   and r["name"].endswith("canvas-data-access-logs"))
    resources.remove(logging)
    return "mlplat-prod-canvas-data"


#: (policy, mutation of prod returning the name of the resource it must be reported on). Each breaks one rule
#: that a first preview could not run before it correlated through property dependencies, or checked that a
#: computed value is present rather than reading it. All are applied to one plan: one judgement per form.
BAD_PROD = {
    "reserved-concurrency": ("public-edge-hardened", lambda rs: _edit(
        rs, "aws:lambda/function:Function", "chat-callback", _drop("reservedConcurrentExecutions"))),
    "request-validator": ("public-edge-hardened", lambda rs: _edit(
        rs, "aws:apigateway/method:Method", "chat-callback-post", _drop("requestValidatorId"))),
    "access-logging": ("s3-access-logging", _drop_logging),
    "efa-subnets": ("gpu-node-groups-placed-and-tainted", lambda rs: _edit(
        rs, "aws:eks/nodeGroup:NodeGroup", "gpu-p5", _second_subnet)),
    "gpu-taint": ("gpu-node-groups-placed-and-tainted", lambda rs: _edit(
        rs, "aws:eks/nodeGroup:NodeGroup", "gpu-p4de", _drop("taints"))),
    "log-group-key": ("data-stores-encrypted", lambda rs: _edit(
        rs, "aws:cloudwatch/logGroup:LogGroup", "chat-callback-logs", _drop("kmsKeyId"))),
    "endpoint-config-key": ("sagemaker-isolated-and-encrypted", lambda rs: _edit(
        rs, "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "bge-embeddings-config",
        _drop("kmsKeyArn"))),
    "cluster-secrets-key": ("eks-control-plane-hardened", lambda rs: _edit(
        rs, "aws:eks/cluster:Cluster", "gpu-cluster", _drop("encryptionConfig"))),
    "permission-source": ("lambda-permission-scoped", lambda rs: _edit(
        rs, "aws:lambda/permission:Permission", "chat-lex-invoke", _drop("sourceArn"))),
}


@pytest.mark.parametrize("first_preview", FORMS, ids=["update", "first-preview"])
def test_bad_plans_are_caught_in_both_forms(served, first_preview):
    resources = copy.deepcopy(plan_environment("prod", first_preview=first_preview).plan["resources"])
    expected = {case: (policy, mutate(resources)) for case, (policy, mutate) in BAD_PROD.items()}
    verdict = both(served, resources, "prod")
    found = mandatory(verdict)
    assert {case: hit for case, hit in expected.items() if hit not in found} == {}, found
    assert {s["policy"] for s in verdict.skipped} & {policy for policy, _ in expected.values()} == set()


def _without_log_delivery(resources: list[dict[str, Any]]) -> str:
    """The log bucket's policy without its grant to the S3 logging service; the bucket's name."""
    policy = next(r for r in resources if r["type"] == "aws:s3/bucketPolicy:BucketPolicy"
                  and r["name"].endswith("access-logs-policy"))
    for part in ("inputs", "outputs"):
        document = json.loads(policy[part]["policy"])
        document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "S3ServerAccessLogsPolicy"]
        policy[part]["policy"] = json.dumps(document)
    return policy["name"].removesuffix("-policy")


def test_a_log_bucket_nothing_logs_to_yet_is_still_a_log_destination(served, tmp_path):
    """A prod stack whose only bucket is the access-log bucket: its policy lets the logging service deliver, so it
    is a destination (SSE-S3, not logged itself) though no bucket logs to it yet; without that grant it is not."""
    full = yaml.safe_load((ROOT / "tests/fixtures/stacks/Pulumi.prod.yaml").read_text())["config"]
    stack = tmp_path / "Pulumi.prod-small.yaml"
    stack.write_text(yaml.safe_dump({"config": {key: full[key] for key in (
        "aws:region", "ml-platform:environment", "ml-platform:tags", "ml-platform:network")}}))
    for first_preview in FORMS:
        plan = plan_stack("prod-small", first_preview=first_preview, config_file=stack).plan
        assert [r["name"] for r in plan["resources"] if r["type"] == "aws:s3/bucket:Bucket"] == [
            "mlplat-prod-small-access-logs"]
        assert mandatory(both(served, plan["resources"], "prod", plan["policy"])) == [], first_preview
    resources = copy.deepcopy(plan_stack("prod-small", config_file=stack).plan["resources"])
    bucket = _without_log_delivery(resources)
    assert mandatory(both(served, resources, "prod")) == [
        ("s3-access-logging", bucket), ("s3-bucket-kms-and-private", bucket)]


def _serve_with(config: dict[str, str]):
    """The pack started as the CLI starts it for a stack whose config is `config` (PULUMI_CONFIG)."""
    command, env = pack_command(ROOT / "policies")
    env["PULUMI_CONFIG"] = json.dumps(config)
    proc = subprocess.Popen(command, cwd=ROOT / "policies", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    port = (proc.stdout.readline() if proc.stdout else "").strip()
    assert port.isdigit(), f"the pack printed no port: {proc.stderr.read() if proc.stderr else ''}"
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    stub = analyzer_pb2_grpc.AnalyzerStub(channel)
    return proc, channel, lambda method, request: getattr(stub, method)(request, timeout=30)


def test_a_stacks_own_policy_settings_reach_the_pack_the_cli_starts(served, envs):
    """The test dev stack opts into one pending throughput (ml-platform:policy in its stack file). The CLI passes the
    stack's config to the pack in PULUMI_CONFIG: served with it, the pack applies the stack's budget; served without
    it, dev's budget of 0 refuses the throughput; served with a setting the policy does not have, it fails."""
    resources = envs["dev"].plan["resources"]
    budget = "bedrock-throughput-budget"
    without = judge(served, resources, load_pack_config("dev"))
    assert [v["policy"] for v in without.violations] == [budget]
    assert "pending: 1 model unit(s) of amazon.titan-image-generator-v2:0" in without.violations[0]["message"]
    stack_file = yaml.safe_load((ROOT / "tests/fixtures/stacks/Pulumi.dev.yaml").read_text())["config"]
    own = {"ml-platform:policy": json.dumps(stack_file["ml-platform:policy"])}
    for config, expected in ((own, []), ({"ml-platform:policy": json.dumps({budget: {"maxThroughputUsdPerHour": 20}})},
                                          [budget])):
        proc, channel, call = _serve_with(config)
        try:
            assert [v["policy"] for v in judge(call, resources, load_pack_config("dev")).violations] == expected
        finally:
            channel.close()
            proc.kill()
            proc.wait()
    proc, channel, call = _serve_with({"ml-platform:policy": json.dumps({budget: {"enforcementLevel": "disabled"}})})
    try:
        with pytest.raises(grpc.RpcError, match="ml-platform:policy.bedrock-throughput-budget.enforcementLevel: "
                                                "expected one of maxThroughputUsdPerHour"):
            judge(call, resources, load_pack_config("dev"))
    finally:
        channel.close()
        proc.kill()
        proc.wait()
