"""The offline plan engine: what it records, how it renders values, and that secrets never leak."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pulumi
import pulumi_aws as aws

from mlplat.schema import plan_schema
from tests.helpers import ROOT, PlanView, config, plan_config, plan_environment

SCHEMA = plan_schema()
SECRET_PLAINTEXT = "hunter2-do-not-print"


def _secret_program() -> None:
    """A program exercising secrets, assets, parents and explicit dependencies."""
    cfg = pulumi.Config("ml-platform")
    token = cfg.require_secret("apiToken")

    class Box(pulumi.ComponentResource):
        def __init__(self, name: str) -> None:
            super().__init__("mlplat:test:Box", name)
            self.secret = aws.secretsmanager.Secret(f"{name}-secret", opts=pulumi.ResourceOptions(parent=self))
            self.version = aws.secretsmanager.SecretVersion(
                f"{name}-version", secret_id=self.secret.id, secret_string=token,
                opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
            )
            self.register_outputs({"secretArn": self.secret.arn})

    box = Box("box")
    aws.s3.BucketObjectv2("obj", bucket="b", key="k", source=pulumi.StringAsset("hello"),
                          opts=pulumi.ResourceOptions(depends_on=[box.version]))
    aws.lambda_.Function("fn", role="arn:aws:iam::123456789012:role/r", runtime="python3.12", handler="a.h",
                         code=pulumi.FileArchive(str(ROOT / "components")))
    pulumi.export("token", token)
    pulumi.export("plain", "visible")


def _plan(tmp_path: Path):
    cfg = config()
    cfg["ml-platform:apiToken"] = {"secure": "v1:AAAAciphertext"}
    return plan_config(tmp_path, cfg, program=_secret_program)


def test_records_parent_dependencies_and_options(tmp_path):
    view = _plan(tmp_path)
    box = view.get("mlplat:test:Box", "box")
    version = view.get("aws:secretsmanager/secretVersion:SecretVersion", "box-version")
    secret = view.get("aws:secretsmanager/secret:Secret", "box-secret")
    assert box["custom"] is False and box["id"] is None
    assert version["parent"] == box["urn"], version["urn"]
    assert secret["urn"] in version["dependencies"], version["urn"]
    assert version["protect"] is True and version["retainOnDelete"] is True
    obj = view.get("aws:s3/bucketObjectv2:BucketObjectv2", "obj")
    assert version["urn"] in obj["dependencies"], obj["urn"]
    assert box["outputs"]["secretArn"] == secret["outputs"]["arn"]


def test_secret_inputs_and_outputs_are_masked(tmp_path):
    view = _plan(tmp_path)
    version = view.get("aws:secretsmanager/secretVersion:SecretVersion", "box-version")
    assert version["inputs"]["secretString"] == "[secret]"
    assert view.outputs["token"] == "[secret]"
    assert view.outputs["plain"] == "visible"
    assert "offline-secret-" not in view.text()
    assert "ciphertext" not in view.text()


def test_assets_and_archives_render_as_documented(tmp_path):
    view = _plan(tmp_path)
    assert view.get("aws:s3/bucketObjectv2:BucketObjectv2", "obj")["inputs"]["source"] == {"stringAsset": "hello"}
    assert view.get("aws:lambda/function:Function", "fn")["inputs"]["code"] == {"fileArchive": "components"}


def test_provider_reference_is_urn_and_id(tmp_path):
    view = plan_config(tmp_path, config())
    (provider,) = view.of_type("pulumi:providers:aws")
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")
    assert key["provider"] == f"{provider['urn']}::{provider['id']}"
    tags = json.loads(provider["inputs"]["defaultTags"])["tags"]
    assert tags == {"environment": "dev", "project": "ml-platform", "owner": "team-a", "cost-center": "cc-1"}


def test_plan_matches_the_json_schema(tmp_path):
    jsonschema.validate(_plan(tmp_path).plan, SCHEMA)
    jsonschema.validate(plan_config(tmp_path, config()).plan, SCHEMA)


def _leaky_program() -> None:
    """A program that passes a secret config value on without marking it: in an annotation-like tag, and
    unsecreted into an object's content. A real `pulumi up` would store both in plain text."""
    cfg = pulumi.Config("ml-platform")
    token = cfg.require_secret("apiToken")
    aws.ssm.Parameter("marked", type="SecureString", value=token)  # fine: still a secret
    aws.s3.BucketObjectv2("leaky", bucket="b", key="k", content=pulumi.Output.unsecret(token))
    aws.s3.Bucket("annotated", tags={"note": f"token={cfg.require('apiToken')}"})


def test_a_secret_that_reaches_an_input_unmarked_is_a_mandatory_finding(tmp_path):
    cfg = config()
    cfg["ml-platform:apiToken"] = {"secure": "v1:AAAAleak"}
    view = plan_config(tmp_path, cfg, program=_leaky_program)
    leaks = [v for v in view.plan["policy"]["violations"] if v["policy"] == "secret-in-plaintext"]
    where = sorted((v["urn"].rsplit("::", 1)[-1], v["message"].split(" reaches ")[1].split(" without")[0])
                   for v in leaks)
    assert where == [("annotated", "inputs.tags.note"), ("leaky", "inputs.content")]
    assert all(v["enforcementLevel"] == "mandatory" for v in leaks)
    assert "offline-secret-" not in view.text(), "still masked in everything printed"
    assert view.get("aws:ssm/parameter:Parameter", "marked")["inputs"]["value"] == "[secret]"


def test_first_preview_knows_what_the_program_sets_and_nothing_a_provider_computes():
    plan = PlanView(plan_environment("dev", first_preview=True).plan)
    key = plan.of_type("aws:kms/key:Key")[0]
    assert key["id"] is None and key["outputs"]["arn"] == "[unknown]", key["urn"]
    role = plan.of_type("aws:iam/role:Role")[0]
    assert role["outputs"]["name"].startswith(role["name"]) and role["outputs"]["arn"] == "[unknown]", role["urn"]
    log_groups = [g for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup") if "kmsKeyId" in g["inputs"]]
    assert log_groups and all(g["inputs"]["kmsKeyId"] == "[unknown]" for g in log_groups)
    assert all(key["urn"] in g["propertyDependencies"]["kmsKeyId"] for g in log_groups)


def test_a_verdict_added_later_is_the_verdict_a_plan_gets_at_once():
    """Tests read plans built without the pack's verdict and add it when they read the document."""
    from mlplat.plan import build_plan
    from mlplat.project import find_project, load_stack_config
    from tests.helpers import plan_stack

    broken = ROOT / "tests/fixtures/Pulumi.dev-broken.yaml"
    later = plan_stack("dev-broken", config_file=broken).plan["policy"]
    project = find_project(ROOT)
    at_once = build_plan(project, load_stack_config(project, "dev-broken", broken))["policy"]
    assert later == at_once
    assert at_once["violations"], "the broken stack has violations to compare"
