"""SecureBucket: KMS by default, no public access, ACLs off, versioned, TLS only, lifecycle."""

from __future__ import annotations

import json

import pytest

from tests.helpers import config, plan_config

ENDPOINT = {"name": "bge", "modelId": "huggingface-sentencesimilarity-bge-large-en", "dataCapture": {"enabled": True}}


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    return plan_config(tmp_path_factory.mktemp("s3"), config(endpoints=[ENDPOINT]))


def _child(view, typ, suffix):
    return view.get(f"aws:s3/{typ}", f"mlplat-dev-inference-capture{suffix}")["inputs"]


def test_bucket_is_kms_encrypted_private_and_versioned(view):
    bucket = view.get("aws:s3/bucket:Bucket", "mlplat-dev-inference-capture")
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")["outputs"]["arn"]
    sse = _child(view, "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "-sse")
    rule = sse["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key}
    assert rule["bucketKeyEnabled"] is True
    pab = _child(view, "bucketPublicAccessBlock:BucketPublicAccessBlock", "-pab")
    assert all(pab[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                        "restrictPublicBuckets"))
    assert _child(view, "bucketOwnershipControls:BucketOwnershipControls", "-ownership")["rule"] == {
        "objectOwnership": "BucketOwnerEnforced"}
    assert _child(view, "bucketVersioning:BucketVersioning", "-versioning")["versioningConfiguration"] == {
        "status": "Enabled"}
    for typ in ("bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                "bucketPublicAccessBlock:BucketPublicAccessBlock"):
        child = [r for r in view.of_type(f"aws:s3/{typ}") if r["name"].startswith("mlplat-dev-inference-capture")]
        assert bucket["urn"] in child[0]["dependencies"]


def test_tls_only_policy_and_lifecycle(view):
    bucket = view.get("aws:s3/bucket:Bucket", "mlplat-dev-inference-capture")["outputs"]["arn"]
    policy = json.loads(_child(view, "bucketPolicy:BucketPolicy", "-policy")["policy"])
    deny = policy["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [bucket, f"{bucket}/*"]
    rules = _child(view, "bucketLifecycleConfiguration:BucketLifecycleConfiguration", "-lifecycle")["rules"]
    assert rules[0]["expiration"] == {"days": 90}
    assert rules[0]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
