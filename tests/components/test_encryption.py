"""The environment KMS key: rotation, deletion window per environment, key policy principals."""

from __future__ import annotations

import json

from components.encryption.component import key_policy
from tests.helpers import config, plan_config


def test_key_rotated_with_alias_and_dev_deletion_window(tmp_path):
    view = plan_config(tmp_path, config())
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")
    assert key["inputs"]["enableKeyRotation"] is True
    assert key["inputs"]["deletionWindowInDays"] == 7
    alias = view.get("aws:kms/alias:Alias", "mlplat-dev-data-alias")
    assert alias["inputs"]["name"] == "alias/ml-platform/dev"
    assert alias["inputs"]["targetKeyId"] == key["outputs"]["keyId"]


def test_prod_key_has_30_day_deletion_window(tmp_path):
    key = plan_config(tmp_path, config(environment="prod")).get("aws:kms/key:Key", "mlplat-prod-data-key")
    assert key["inputs"]["deletionWindowInDays"] == 30


def test_key_policy_principals(tmp_path):
    key = plan_config(tmp_path, config()).get("aws:kms/key:Key", "mlplat-dev-data-key")
    policy = json.loads(key["inputs"]["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["EnableIamPolicies"]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    logs = by_sid["CloudWatchLogs"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == "arn:aws:logs:us-east-1:123456789012:*"
    assert "KeyAdministrators" not in by_sid
    bedrock = by_sid["BedrockLogDelivery"]
    assert bedrock["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert bedrock["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_key_administrators_cannot_use_the_key():
    policy = key_policy("111122223333", "aws", "eu-west-1", ["arn:aws:iam::111122223333:role/admin"])
    admins = next(s for s in policy["Statement"] if s["Sid"] == "KeyAdministrators")
    assert admins["Principal"] == {"AWS": ["arn:aws:iam::111122223333:role/admin"]}
    # Every KMS action the statement's patterns match (wildcards expanded over botocore's KMS operations, the
    # actions IAM knows for the service): none of them uses the key material.
    import fnmatch

    import botocore.session

    actions = [f"kms:{op}" for op in botocore.session.get_session().get_service_model("kms").operation_names]
    granted = {a for a in actions for pattern in admins["Action"] if fnmatch.fnmatchcase(a.lower(), pattern.lower())}
    cryptographic = {a for a in actions if a.split(":")[1].startswith((
        "Decrypt", "Encrypt", "GenerateDataKey", "ReEncrypt", "Sign", "Verify", "GenerateMac", "DeriveSharedSecret",
        "GenerateRandom"))}
    assert "kms:Decrypt" in cryptographic and granted, "the judge knows KMS's actions"
    assert granted & cryptographic == set()
