"""The platform's dynamic providers as the engine runs them: pickled into the state by module path, handed the
stack's config, asked to diff, read and refresh long after the program that created them."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from pulumi.dynamic import dynamic

from components.bedrock.run_guard import RunGuardProvider
from components.canvas.portal_app import PortalAppProvider, stack_session
from components.propagation import PropagationProvider
from tests.helpers import ROOT, config, plan_config

#: Where existing stacks' state says each provider lives (the pickle names the module): these paths must keep working.
PICKLED_PATHS = {
    "components.propagation": "PropagationProvider",
    "components.canvas.portal_app": "PortalAppProvider",
    "components.bedrock.run_guard": "RunGuardProvider",
}


@pytest.mark.parametrize("provider", [PropagationProvider(), PortalAppProvider(), RunGuardProvider()])
def test_the_pickled_provider_names_a_kept_module_path_and_loads_in_a_fresh_process(provider):
    """What `pulumi up` writes into `__provider` (pulumi.dynamic `serialize_provider`, dill by reference for
    importable classes) is read back by the provider process on refresh and destroy: the class must be found."""
    blob = dynamic.serialize_provider(provider)
    cls = type(provider)
    assert PICKLED_PATHS.get(cls.__module__) == cls.__name__, "a moved provider breaks existing stacks' state"
    assert cls.__module__.encode() in base64.b64decode(blob)
    code = ("import base64, dill, sys; p = dill.loads(base64.b64decode(sys.argv[1])); "
            "print(type(p).__module__, type(p).__name__)")
    done = subprocess.run([sys.executable, "-c", code, blob], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == [cls.__module__, cls.__name__], done.stderr[-1000:]


PROPS = {"application_arn": "arn:aws:sso::123456789012:application/ssoins-1/apl-1", "display_name": "Canvas",
         "description": "d", "region": "us-east-1"}


def _client():
    client = boto3.client("sso-admin", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    return client, Stubber(client)


def test_refresh_drops_a_portal_app_that_is_gone_and_reads_one_that_is_there():
    client, stub = _client()
    provider = PortalAppProvider(client_factory=lambda region: client)
    stub.add_client_error("describe_application", service_error_code="ResourceNotFoundException")
    stub.add_response("describe_application", {"Name": "Canvas ML", "Description": "d"},
                      {"ApplicationArn": PROPS["application_arn"]})
    with stub:
        gone = provider.read(PROPS["application_arn"], dict(PROPS))
        there = provider.read(PROPS["application_arn"], dict(PROPS))
    assert gone.id is None, "an empty id tells the engine the resource no longer exists"
    assert there.id == PROPS["application_arn"] and there.outs["display_name"] == "Canvas ML"
    client, stub = _client()
    stub.add_client_error("describe_application", service_error_code="AccessDeniedException")
    with stub, pytest.raises(Exception, match="AccessDeniedException"):
        PortalAppProvider(client_factory=lambda region: client).read(PROPS["application_arn"], dict(PROPS))


class _Config:
    def __init__(self, values: dict) -> None:
        self.values = values

    def get(self, key: str):
        return self.values.get(key)


def test_the_portal_app_calls_aws_as_the_stack_does(monkeypatch):
    """Region and assumed role from the stack's config (what `configure` receives), not boto3's defaults."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for key in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    role = "arn:aws:iam::123456789012:role/deployer"
    with mock_aws():
        plain = stack_session(_Config({"aws:region": "us-west-2"}), "us-east-1")
        assumed = stack_session(_Config({"aws:region": "us-west-2", "aws:assumeRoles": json.dumps(
            [{"roleArn": role, "sessionName": "ci"}])}), "us-east-1")
        who = assumed.client("sts").get_caller_identity()
    assert plain.region_name == "us-west-2" and assumed.region_name == "us-west-2"
    assert who["Arn"] == "arn:aws:sts::123456789012:assumed-role/deployer/ci"
    provider = PortalAppProvider()
    provider.configure(type("Req", (), {"config": _Config({"aws:region": "us-west-2"})})())
    with mock_aws():
        assert provider._client(dict(PROPS)).meta.region_name == "us-west-2"


def test_propagation_waits_on_create_and_whenever_a_document_it_follows_changes(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr("components.propagation.time.sleep", slept.append)
    provider = PropagationProvider()
    first = {"after": ['{"Statement": [1]}'], "seconds": 15}
    provider.create(first)
    assert provider.diff("x", first, dict(first)).changes is False
    edited = {"after": ['{"Statement": [2]}'], "seconds": 15}
    assert provider.diff("x", first, edited).changes is True
    provider.update("x", first, edited)
    assert slept == [15.0, 15.0]


def test_invocation_logging_waits_again_after_a_policy_edit(tmp_path):
    """The wait follows the role policy's document and the bucket policy (what Bedrock validates), so editing
    either changes the Propagation's inputs; URNs never change."""
    view = plan_config(tmp_path, config(bedrock={"invocationLogging": {"enabled": True, "s3": True}}))
    (wait,) = [r for r in view.resources if r["type"] == "pulumi-python:dynamic:Resource" and r["name"].endswith(
        "-iam")]
    role_policy = view.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-bedrock-logs")["inputs"]["policy"]
    follows = wait["inputs"]["after"]
    assert role_policy in follows
    assert not any(str(v).startswith("urn:pulumi:") for v in follows)
    bucket_policy = next(r for r in view.of_type("aws:s3/bucketPolicy:BucketPolicy")
                         if "bedrock-logs" in r["name"])["inputs"]["policy"]
    assert bucket_policy in follows
