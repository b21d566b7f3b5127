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


# -- server access logs (storage.accessLogging; on in prod) ---------------------------------------
def test_prod_data_buckets_log_to_a_dedicated_bucket_that_only_the_logging_service_writes(envs):
    view = envs["prod"]
    log_bucket = view.get("aws:s3/bucket:Bucket", "mlplat-prod-access-logs")
    name = log_bucket["outputs"]["bucket"]
    logging = view.of_type("aws:s3/bucketLogging:BucketLogging")
    data_buckets = [b for b in view.of_type("aws:s3/bucket:Bucket") if b is not log_bucket]
    assert len(data_buckets) >= 3
    assert sorted(lg["inputs"]["bucket"] for lg in logging) == sorted(b["outputs"]["bucket"] for b in data_buckets)
    assert all(lg["inputs"]["targetBucket"] == name for lg in logging)
    assert len({lg["inputs"]["targetPrefix"] for lg in logging}) == len(logging)  # one prefix per bucket
    sse = view.get("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                   "mlplat-prod-access-logs-sse")["inputs"]["rules"][0]
    assert sse["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}
    policy = view.get("aws:s3/bucketPolicy:BucketPolicy", "mlplat-prod-access-logs-policy")["inputs"]["policy"]
    policy = json.loads(policy)
    allow = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allow == [{"Sid": "S3ServerAccessLogsPolicy", "Effect": "Allow",
                      "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
                      "Resource": f"{log_bucket['outputs']['arn']}/*",
                      "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::mlplat-prod-*"},
                                    "StringEquals": {"aws:SourceAccount": "123456789012"}}}]
    lifecycle = view.get("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                         "mlplat-prod-access-logs-lifecycle")["inputs"]["rules"][0]
    assert lifecycle["expiration"]["days"] == 365


def test_dev_buckets_do_not_log(envs):
    assert not envs["dev"].of_type("aws:s3/bucketLogging:BucketLogging")
