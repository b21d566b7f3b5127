"""Canvas config errors."""

from __future__ import annotations

import pytest

from stacks.config import parse
from stacks.errors import ConfigError
from tests.helpers import config
from tests.stacks.test_config import _values

USER = {"userName": "ana", "email": "ana@example.com", "givenName": "Ana", "familyName": "Silva"}


def _problems(canvas: dict, **extra) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(_values(config(canvas={"enabled": True, **canvas}, **extra)))
    return info.value.problems


def test_defaults_per_environment():
    dev = parse(_values(config(canvas={"enabled": True})))
    assert dev.canvas.app_network_access_type == "PublicInternetOnly" and dev.canvas.retain_home_efs is False
    net = {"availabilityZones": ["us-east-1a", "us-east-1b"],
           "interfaceEndpoints": ["sagemaker.api", "sagemaker.runtime", "sts", "logs", "bedrock-runtime"]}
    prod = parse(_values(config(environment="prod", canvas={"enabled": True}, network=net)))
    assert prod.canvas.app_network_access_type == "VpcOnly" and prod.canvas.retain_home_efs is True


def test_vpc_only_needs_interface_endpoints():
    (line,) = _problems({"appNetworkAccessType": "VpcOnly"})
    assert line.startswith("ml-platform:network.interfaceEndpoints: a VpcOnly Canvas domain has no internet: add "
                           "bedrock-runtime")


def test_unknown_group_and_duplicate_users_and_bad_email():
    problems = _problems({"users": [dict(USER, groups=["analysts"]), USER]})
    assert len(problems) == 1
    assert "duplicate user names: ana" in problems[0]
    assert "user ana joins unknown group(s) analysts; known: none" in problems[0]
    (line,) = _problems({"users": [dict(USER, email="ana.example.com")]})
    assert line.startswith("ml-platform:canvas.users[0].email: expected an email address")
    assert line.endswith("found 'ana.example.com'")


def test_canvas_landing_with_studio_settings():
    (line,) = _problems({"landing": "canvas", "studio": {"notebookOutputSharing": "Allowed"}})
    assert "studio settings have no effect with landing: canvas" in line


def test_invalid_bucket_name():
    (line,) = _problems({"existingBucket": "My_Bucket"})
    assert line.startswith("ml-platform:canvas.existingBucket: expected an S3 bucket name")
