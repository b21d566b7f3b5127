"""The stack's `aws:` settings reach the providers the platform creates: an explicit provider reads no stack config
of its own (only the engine's default provider does), so a profile or role in the stack file would otherwise be
ignored while the deployment runs with whatever credentials the shell has."""

from __future__ import annotations

import json

import pytest

from stacks.config import parse
from stacks.errors import ConfigError
from tests.helpers import CHAT, config, plan_config, values

ROLE = "arn:aws:iam::123456789012:role/ml-platform-deployer"


def test_profile_role_and_accounts_reach_both_providers(tmp_path):
    cfg = config(liveChat=CHAT, **{"aws:profile": "ml-dev", "aws:assumeRoles": [{"roleArn": ROLE, "sessionName": "up"}],
                                    "aws:allowedAccountIds": ["123456789012"]})
    view = plan_config(tmp_path, cfg)
    (aws,) = view.of_type("pulumi:providers:aws")
    (native,) = view.of_type("pulumi:providers:aws-native")
    assert aws["inputs"]["profile"] == native["inputs"]["profile"] == "ml-dev"
    assert json.loads(aws["inputs"]["assumeRoles"]) == [{"roleArn": ROLE, "sessionName": "up"}]
    assert json.loads(native["inputs"]["assumeRole"]) == {"roleArn": ROLE, "sessionName": "up"}
    assert json.loads(aws["inputs"]["allowedAccountIds"]) == ["123456789012"]


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("aws:skipCredentialsValidation", "true", "aws:skipCredentialsValidation: expected one of aws:region"),
    ("aws-native:region", "us-west-2", "aws-native:region: expected one of aws:region"),
    ("aws:assumeRoles", [{"roleArn": ROLE}, {"roleArn": ROLE}], "aws:assumeRoles: expected at most one role"),
    ("aws:assumeRoles", [{"roleArn": "arn:aws:iam::123456789012:user/x"}], "aws:assumeRoles[0].roleArn"),
])
def test_provider_settings_the_platform_would_ignore_or_cannot_apply_are_refused(key, value, expected):
    with pytest.raises(ConfigError) as info:
        parse(values(config(**{key: value})))
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems
