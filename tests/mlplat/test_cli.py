"""The command line, in-process (`main(argv)`): exit codes, messages a person reads, files it refuses."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from mlplat import cli
from mlplat.schema import plan_schema
from tests.helpers import CHAT, ENVIRONMENTS, ROOT, config, run_cli

TALKDESK = {"authUrl": "https://acme.talkdeskid.com/oauth/token",
            "touchpointId": {"secure": "v1:AAAtouchpoint"}, "clientId": {"secure": "v1:AAAclientid"}}

ENV_DEV = ENVIRONMENTS / "Pulumi.dev.yaml"


def _stack(tmp_path: Path, cfg: dict, stack: str = "dev-t") -> Path:
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": cfg}, sort_keys=False))
    return path


def _plan(tmp_path: Path, cfg: dict, *extra: str, stack: str = "dev-t"):
    return run_cli("plan", stack, "--config-file", str(_stack(tmp_path, cfg, stack)), *extra)


def _problems(result) -> list[str]:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return [line.strip() for line in result.stderr.splitlines()[1:]]


# -- the plan and what it prints ------------------------------------------------------------------
def test_plan_writes_valid_json(tmp_path):
    out = tmp_path / "plan.json"
    result = _plan(tmp_path, config(), "--json", str(out))
    assert result.returncode == 0, result.stderr
    jsonschema.validate(json.loads(out.read_text()), plan_schema())


def test_a_secret_in_a_plain_field_is_refused_without_printing_it(tmp_path):
    """A tag is stored and shown in plain text: a `secure:` value there would leak, so it is refused."""
    cfg = config(tags={"owner": "a", "costCenter": "b", "extra": {"team-token": {"secure": "v1:CIPHERTEXTXYZ"}}})
    out = tmp_path / "plan.json"
    result = _plan(tmp_path, cfg, "--json", str(out))
    assert _problems(result) == ["ml-platform:tags.extra.team-token: expected a plaintext value (this field is not "
                                 "secret: it is stored and shown in plain text, e.g. as a tag); found a secure: value"]
    assert not out.exists()
    for text in (result.stdout, result.stderr):
        assert "CIPHERTEXTXYZ" not in text and "offline-secret-" not in text


def test_plan_from_a_subdirectory_counts_every_resource_and_prints_outputs_whole(tmp_path):
    out = tmp_path / "dev.json"
    stack_file = _stack(tmp_path, config(liveChat=CHAT), "dev-t")
    result = run_cli("plan", "dev-t", "--config-file", str(stack_file), "--json", str(out),
                     cwd=ROOT / "components" / "catalog")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Plan: ml-platform / dev-t (us-east-1):")
    plan = json.loads(out.read_text())
    header = result.stdout.splitlines()[0]
    assert f": {len(plan['resources'])} resources (" in header, header
    assert "..." not in result.stdout.split("Stack outputs")[1].split("Policies")[0]
    loader = plan["outputs"]["lexWebUiLoaderConfig"]
    assert f"  lexWebUiLoaderConfig: {loader}" in result.stdout


def test_summary_by_default_every_resource_with_details(envs):
    from mlplat.plan import render_text

    plan = envs["prod"].plan
    short, full = render_text(plan, "us-east-1"), render_text(plan, "us-east-1", details=True)
    lines = short.splitlines()
    # Policies and cost come within the first screenfuls, not after hundreds of resource lines.
    assert lines.index("Policies") < 80 < full.splitlines().index("Policies")
    role_policy = "aws:iam/rolePolicy:RolePolicy  mlplat-prod-gpu-cluster-kms"
    assert role_policy not in short and role_policy in full
    assert sum(1 for line in full.splitlines() if line.strip().startswith("+ ")) == len(plan["resources"])
    assert "\033[" not in short, "no colour unless asked for"
    assert "Model specs" not in short and "JumpStart spec huggingface-llm-mixtral-8x7b-instruct v" in full


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_on_a_terminal_unless_no_color(monkeypatch):
    from mlplat.plan import Style

    assert Style(True).red("x") == "\033[31mx\033[0m" and Style(False).red("x") == "x"
    plan = {"project": "p", "stack": "s", "resources": [], "outputs": {}, "policy": {"violations": []},
            "cost": {"hourlyUsdIdle": 0, "hourlyUsdMax": 0, "items": []}}
    monkeypatch.setattr(cli, "_plan_for", lambda stack, config_file, **_: (plan, "us-east-1"))
    for no_color, coloured in ((None, True), ("1", False)):
        if no_color:
            monkeypatch.setenv("NO_COLOR", no_color)
        out = _Terminal()
        monkeypatch.setattr(sys, "stdout", out)
        assert cli.main(["plan", "s"]) == 0
        assert ("\033[" in out.getvalue()) is coloured


def test_progress_line_only_on_a_terminal(monkeypatch):
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    progress = cli._Progress("dev")
    for i in range(1, 11):
        progress(i, "aws:iam/role:Role")
    progress.done()
    assert "planning dev: 10 resources registered" in term.getvalue()
    assert term.getvalue().endswith("\r\033[K")
    plain = io.StringIO()
    monkeypatch.setattr(sys, "stderr", plain)
    quiet = cli._Progress("dev")
    quiet(10, "aws:iam/role:Role")
    assert plain.getvalue() == ""


def test_no_deprecation_warnings_from_our_own_code(envs):
    for stack in ("dev", "prod"):
        messages = [d["message"] for d in envs[stack].diagnostics]
        assert not [m for m in messages if "deprecated" in m], messages


def test_graph_stdout_is_pure_mermaid_and_the_summary_goes_to_stderr(monkeypatch, envs):
    monkeypatch.setattr(cli, "_plan_for", lambda stack, config_file: (envs[stack].plan, "us-east-1"))
    result = run_cli("graph", "dev")
    assert result.returncode == 0
    assert result.stdout.startswith("flowchart LR\n") and "critical path" not in result.stdout
    assert result.stderr.startswith("critical path: ")


def test_internal_error_exits_3_without_a_traceback(monkeypatch):
    def boom(stack, config_file):
        raise KeyError("bug")

    monkeypatch.setattr(cli, "_plan_for", boom)
    result = run_cli("cost", "dev")
    assert result.returncode == 3
    assert result.stderr.startswith("internal error: KeyError") and "Traceback" not in result.stderr


def test_smoke_subprocess_finds_the_project_from_a_subdirectory():
    """The console entry point end to end: project found from below, exit code through `os._exit`."""
    result = subprocess.run([sys.executable, "-m", "mlplat", "plan", "qa"], cwd=ROOT / "components" / "catalog",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (f"error: no stack file {ROOT / 'stacks' / 'Pulumi.qa.yaml'} "
                             "(stacks available: dev, prod, staging)\n")



# -- bad input: exit 2, one line per problem ------------------------------------------------------
def test_bad_config_exits_2_with_one_line_per_problem(tmp_path):
    cfg = config(environment="qa", tags={"owner": "a"},
                 network={"vpcCidr": "10.0.0.0/8", "availabilityZones": ["us-east-1a", "us-east-1b"]})
    problems = _problems(_plan(tmp_path, cfg))
    assert len(problems) == 3, problems
    assert all(p.startswith("ml-platform:") and p.count("found") <= 1 for p in problems), problems


def test_unknown_stack_exits_2():
    result = run_cli("plan", "nope")
    assert result.returncode == 2
    assert "stacks available: dev, prod, staging" in result.stderr


def test_output_paths_are_checked_before_the_plan_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "_plan_for", lambda *a: pytest.fail("planned before checking the output path"))
    missing = tmp_path / "no-such-folder" / "plan.json"
    result = run_cli("plan", "dev", "--json", str(missing))
    assert result.returncode == 2 and f"folder {missing.parent} does not exist" in result.stderr
    result = run_cli("graph", "dev", "--output", str(tmp_path))
    assert result.returncode == 2 and "is a folder" in result.stderr
    result = run_cli("config-reference", "--write", str(missing))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_stack_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "Pulumi.dev-latin1.yaml"
    path.write_bytes(b"config:\n  ml-platform:tags:\n    owner: Jos\xe9\n")
    result = run_cli("plan", "dev-latin1", "--config-file", str(path))
    assert result.returncode == 2
    assert f"{path}:3: expected UTF-8 text; found byte 0xe9" in result.stderr


def test_duplicate_keys_name_the_key_and_both_lines(tmp_path):
    path = tmp_path / "Pulumi.dev-dup.yaml"
    path.write_text("config:\n  aws:region: us-east-1\n  ml-platform:gpuCluster:\n    enabled: true\n"
                    "    enabled: false\n  aws:region: us-west-2\n")
    result = run_cli("plan", "dev-dup", "--config-file", str(path))
    assert result.returncode == 2
    assert f"{path}:5: key 'enabled' is written twice in one mapping (lines 4 and 5)" in result.stderr
    assert f"{path}:6: key 'aws:region' is written twice in one mapping (lines 2 and 6)" in result.stderr


def test_duplicate_keys_in_a_pack_config(tmp_path, envs):
    plan_file = tmp_path / "dev.json"
    plan_file.write_text(json.dumps(envs["dev"].plan))
    pack = tmp_path / "pack.json"
    pack.write_text('{\n  "gpu-hourly-budget": {"maxHourlyGpuUsd": 25},\n  "gpu-hourly-budget": "disabled"\n}\n')
    result = run_cli("check", str(plan_file), "--policy-config", str(pack))
    assert result.returncode == 2
    assert "key 'gpu-hourly-budget' is written twice in one object (lines 2 and 3)" in result.stderr


def test_check_validates_the_plan_against_its_schema(tmp_path, envs):
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    result = run_cli("check", str(empty))
    assert result.returncode == 2 and "not a plan document: 'project' is a required property" in result.stderr
    plan = json.loads(json.dumps(envs["dev"].plan))
    del plan["resources"][3]["urn"]
    plan["resources"][5]["custom"] = "yes"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(plan))
    result = run_cli("check", str(broken))
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert "(at resources/3)" in line or "(at resources/5/custom)" in line, line


def test_unknown_namespace_is_refused_with_a_suggestion(tmp_path):
    cfg = config()
    cfg["mlplatform:kpiReports"] = [{"team": "web"}]
    (line,) = _problems(_plan(tmp_path, cfg))
    assert line.startswith("mlplatform:kpiReports: expected a key of namespace ml-platform (this project) or of a "
                           "provider (aws, aws-native, kubernetes, pulumi); found namespace 'mlplatform'")
    assert line.endswith("did you mean ml-platform:kpiReports?")


def test_environment_must_fit_the_stack_name(tmp_path):
    (line,) = _problems(_plan(tmp_path, config(environment="prod"), stack="dev"))
    assert line == "ml-platform:environment: expected 'dev' (the stack is named dev); found 'prod'"
    assert _plan(tmp_path, config(environment="dev"), "--quiet", stack="dev-eu").returncode == 0


def test_plaintext_secret_next_to_a_secure_sibling(tmp_path):
    chat = {"enabled": True, "talkdesk": dict(TALKDESK, clientSecret="plain-text-secret")}
    (line,) = _problems(_plan(tmp_path, config(liveChat=chat)))
    assert line.startswith("ml-platform:liveChat.talkdesk.clientSecret: expected a secret")
    assert "plain-text-secret" not in line


def test_plaintext_secret_in_a_list_item_whose_neighbour_is_secure(tmp_path):
    job = {"name": "j", "runId": "r1", "nodeGroup": "g", "workers": 1, "image": "1.dkr.ecr.us-east-1.amazonaws.com/i:1"}
    cfg = config(gpuCluster={"enabled": True, "publicAccessCidrs": ["203.0.113.0/24"], "nodeGroups": [
        {"name": "g", "instanceType": "g5.12xlarge", "availabilityZone": "us-east-1a", "maxSize": 2}]},
        trainingJobs=[dict(job, hfToken={"secure": "v1:AAAA"}), dict(job, name="k", hfToken="hf_plain")])
    (line,) = _problems(_plan(tmp_path, cfg))
    assert line.startswith("ml-platform:trainingJobs[1].hfToken: expected a secret")


def test_yaml11_boolean_is_explained(tmp_path):
    path = tmp_path / "Pulumi.dev-no.yaml"
    path.write_text(yaml.safe_dump({"config": config()}).replace("costCenter: cc-1", "costCenter: no"))
    result = run_cli("plan", "dev-no", "--config-file", str(path))
    (line,) = _problems(result)
    assert line.startswith("ml-platform:tags.costCenter: expected a valid string; found false")
    assert 'YAML 1.1 reads the bare word no as the boolean false: write "no" in quotes' in line


def test_cross_field_errors_point_at_the_field(tmp_path):
    group = {"name": "g", "instanceType": "g5.12xlarge", "availabilityZone": "us-east-1a", "minSize": 1,
             "desiredSize": 5, "maxSize": 2}
    cfg = config(gpuCluster={"enabled": True, "publicAccessCidrs": ["203.0.113.0/24"], "nodeGroups": [group]})
    (line,) = _problems(_plan(tmp_path, cfg))
    assert line == ("ml-platform:gpuCluster.nodeGroups[0].desiredSize: expected a value within [minSize, maxSize] "
                    "= [1, 2]; found 5")


def test_a_mapping_is_summarized_never_dumped(tmp_path):
    cfg = config(environment={"name": "dev", "a": 1, "b": 2})
    (line,) = _problems(_plan(tmp_path, cfg))
    assert line == ("ml-platform:environment: expected 'dev', 'staging' or 'prod'; found a mapping with keys name, "
                    "a, b")


def test_canvas_profile_names_must_not_collide(tmp_path):
    user = {"email": "ana@example.com", "givenName": "Ana", "familyName": "Silva"}
    canvas = {"enabled": True, "users": [dict(user, userName="ana.silva"), dict(user, userName="ana_silva")]}
    (line,) = _problems(_plan(tmp_path, config(canvas=canvas)))
    assert line == ("ml-platform:canvas.users[1].userName: expected user names that give distinct SageMaker user "
                    "profiles (names are not case sensitive); 'ana_silva' and 'ana.silva' (users[0].userName) both "
                    "become profile 'ana-silva'")


def test_cost_command_lists_every_priced_item(monkeypatch, envs):
    monkeypatch.setattr(cli, "_plan_for", lambda stack, config_file: (envs[stack].plan, "us-east-1"))
    result = run_cli("cost", "dev")
    cost = envs["dev"].cost
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].startswith(f"dev: idle ${cost['hourlyUsdIdle']:.2f}/h, "
                                                    f"max ${cost['hourlyUsdMax']:.2f}/h")
    assert len(result.stdout.splitlines()) == 2 + len(cost["items"])
    # Each endpoint's model spec, with where it comes from and when it was checked.
    assert "model: JumpStart spec huggingface-sentencesimilarity-bge-large-en v" in result.stdout
    assert "checked 20" in result.stdout


def test_invoke_command_builds_the_payload_from_the_stack(monkeypatch):
    import mlplat.invoke

    calls = []

    def fake_invoke(**kwargs):
        calls.append(kwargs)
        return "mlplat-dev-bge-embeddings-endpoint-abc", {"embedding": [[0.1, 0.2]]}

    monkeypatch.setattr(mlplat.invoke, "invoke", fake_invoke)
    result = run_cli("invoke", "dev", "--config-file", str(ENV_DEV), "bge-embeddings", "--message", "what is EFA?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# mlplat-dev-bge-embeddings-endpoint-abc\n")
    (call,) = calls
    assert call["prefix"] == "mlplat-dev-bge-embeddings" and call["component"] is None
    assert call["payload"] == {"text_inputs": ["what is EFA?"], "mode": "embedding"}
    unknown = run_cli("invoke", "dev", "--config-file", str(ENV_DEV), "nope", "--message", "x")
    assert unknown.returncode == 2 and "no endpoint 'nope' (endpoints: bge-embeddings)" in unknown.stderr


def test_invoke_with_a_payload_file_that_is_not_json(tmp_path):
    bad = tmp_path / "payload.json"
    bad.write_text("{not json")
    result = run_cli("invoke", "dev", "--config-file", str(ENV_DEV), "bge-embeddings", "--file", str(bad))
    assert result.returncode == 2 and "not a JSON payload" in result.stderr


def test_every_option_of_every_command_says_what_it_does():
    """`mlplat <command> --help` explains each option: none is left without help text."""
    import argparse

    bare = []

    def walk(parser: argparse.ArgumentParser, path: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, f"{path} {name}")
            elif not isinstance(action, argparse._HelpAction) and not action.help:
                bare.append(f"{path} {'/'.join(action.option_strings) or action.dest}")

    walk(cli._parser(), "mlplat")
    assert bare == []
