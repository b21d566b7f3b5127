"""Canvas config errors."""

from __future__ import annotations

import pytest

from stacks.config import parse
from stacks.errors import ConfigError
from tests.helpers import config, values

USER = {"userName": "ana", "email": "ana@example.com", "givenName": "Ana", "familyName": "Silva"}


def _problems(canvas: dict, **extra) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(values(config(canvas={"enabled": True, **canvas}, **extra)))
    return info.value.problems


def test_defaults_per_environment():
    dev = parse(values(config(canvas={"enabled": True})))
    assert dev.canvas.app_network_access_type == "PublicInternetOnly" and dev.canvas.retain_home_efs is False
    net = {"availabilityZones": ["us-east-1a", "us-east-1b"],
           "interfaceEndpoints": ["sagemaker.api", "sagemaker.runtime", "sts", "logs", "bedrock-runtime"]}
    prod = parse(values(config(environment="prod", canvas={"enabled": True}, network=net)))
    assert prod.canvas.app_network_access_type == "VpcOnly" and prod.canvas.retain_home_efs is True


def test_vpc_only_needs_interface_endpoints():
    (line,) = _problems({"appNetworkAccessType": "VpcOnly"})
    assert line.startswith("ml-platform:network.interfaceEndpoints: a VpcOnly Canvas domain has no internet: add "
                           "bedrock-runtime")


def test_unknown_group_and_duplicate_users_and_bad_email():
    problems = _problems({"users": [dict(USER, groups=["analysts"]), USER]})
    assert problems == [
        "ml-platform:canvas.users[1].userName: expected unique user names; 'ana' is also at users[0].userName",
        "ml-platform:canvas.users[0].groups[0]: expected one of the groups (none defined); found 'analysts'",
    ]
    (line,) = _problems({"users": [dict(USER, email="ana.example.com")]})
    assert line.startswith("ml-platform:canvas.users[0].email: expected an email address")
    assert line.endswith("found 'ana.example.com'")


def test_canvas_landing_with_studio_settings():
    (line,) = _problems({"landing": "canvas", "studio": {"notebookOutputSharing": "Allowed"}})
    assert line.startswith("ml-platform:canvas.studio: expected no studio settings with landing: canvas")


def test_invalid_bucket_name():
    (line,) = _problems({"existingBucket": "My_Bucket"})
    assert line.startswith("ml-platform:canvas.existingBucket: expected an S3 bucket name")


def test_profile_names_fit_sagemaker_and_never_end_on_a_hyphen():
    from components.canvas.args import PROFILE_NAME, profile_name

    long_name = "a" * 62 + ".b@example.com"  # the 63rd character is a separator
    for user in ("ana.silva", "ana_silva@corp.example", "__x__", long_name, "z" * 128):
        name = profile_name(user)
        assert PROFILE_NAME.match(name), (user, name)
        assert len(name) <= 63 and not name.endswith("-")
    assert profile_name(long_name) == "a" * 62


def test_profile_names_that_differ_only_in_case_collide():
    """SageMaker's UserProfileName is not case sensitive (botocore model): Ana-Silva and ana.silva clash on AWS."""
    users = [dict(USER, userName="Ana-Silva"), dict(USER, userName="ana.silva", email="a2@example.com")]
    (line,) = _problems({"users": users})
    assert "not case sensitive" in line and "'ana.silva' and 'Ana-Silva'" in line


def test_every_profile_name_is_in_the_plan_outputs(tmp_path):
    from tests.helpers import plan_config

    users = [dict(USER, userName="ana.silva"), dict(USER, userName="bo@corp", email="bo@example.com")]
    view = plan_config(tmp_path, config(canvas={"enabled": True, "users": users}))
    assert view.outputs["canvasUserProfiles"] == {"ana.silva": "ana-silva", "bo@corp": "bo-corp"}
    profiles = {p["inputs"]["userProfileName"] for p in view.of_type("aws:sagemaker/userProfile:UserProfile")}
    assert profiles == {"ana-silva", "bo-corp"}
