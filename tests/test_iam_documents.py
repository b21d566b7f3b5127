"""IAM documents in the envs plans, judged by parliament (see tests/iam_lint.py for what and why)."""

from __future__ import annotations

import json

import pytest

from components.canvas.component import canvas_service_policy
from components.eks_gpu_cluster.iam import autoscaler_policy
from components.kpi_report.component import model_resources
from tests.iam_lint import ACCEPTED, DOCUMENT_INPUTS, documents, findings


def _doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_iam_document_in_the_shipped_plans_passes_parliament(envs, stack):
    docs = documents(envs[stack].plan)
    assert {t for t, _, _ in docs} >= {"aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:kms/key:Key",
                                       "aws:s3/bucketPolicy:BucketPolicy"}
    problems = [f"{name}: {problem}" for typ, name, doc in docs for problem in findings(typ, doc)]
    assert not problems, "\n".join(problems)


def test_every_document_input_the_plans_carry_is_checked(envs):
    """A new kind of IAM document in a plan (an SNS topic policy, say) must join DOCUMENT_INPUTS."""
    carried = {r["type"] for r in envs["prod"].resources
               for v in r["inputs"].values() if isinstance(v, str) and '"Statement"' in v}
    assert carried <= set(DOCUMENT_INPUTS)


def test_a_condition_key_the_action_never_carries_is_found():
    """The defect this check first caught: s3:prefix on GetBucketLocation never matches, so the grant is void."""
    bad = _doc({"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": "arn:aws:s3:::b", "Condition": {"StringLike": {"s3:prefix": ["canvas/*"]}}})
    assert any("UNKNOWN_CONDITION_FOR_ACTION" in f and "s3:prefix" in f
               for f in findings("aws:iam/rolePolicy:RolePolicy", bad))
    fixed = json.loads(canvas_service_policy("arn:aws:s3:::b", "arn:aws:kms:us-east-1:123456789012:key/k"))
    assert findings("aws:iam/rolePolicy:RolePolicy", fixed) == []


def test_unknown_actions_and_unusable_resources_are_found():
    typo = _doc({"Effect": "Allow", "Action": "s3:GetObjects", "Resource": "arn:aws:s3:::b/*"})
    assert any(f.startswith("UNKNOWN_ACTION") for f in findings("aws:iam/rolePolicy:RolePolicy", typo))
    object_action_on_bucket = _doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b"})
    assert any("s3:GetObject can act on none of" in f
               for f in findings("aws:iam/rolePolicy:RolePolicy", object_action_on_bucket))
    star_only = _doc({"Effect": "Allow", "Action": "ec2:DescribeImages", "Resource": "arn:aws:s3:::b"})
    assert any("takes only Resource '*'" in f for f in findings("aws:iam/rolePolicy:RolePolicy", star_only))


def test_autoscaler_describes_only_this_clusters_node_groups():
    unscoped = _doc({"Effect": "Allow", "Action": "eks:DescribeNodegroup", "Resource": "*"})
    assert any(f.startswith("RESOURCE_STAR") for f in findings("aws:iam/rolePolicy:RolePolicy", unscoped))
    scoped = json.loads(autoscaler_policy("gpu", "arn:aws:eks:us-east-1:123456789012:nodegroup/gpu/*/*"))
    assert findings("aws:iam/rolePolicy:RolePolicy", scoped) == []


@pytest.mark.parametrize("model_id", ["anthropic.claude-3-haiku-20240307-v1:0",
                                      "us.anthropic.claude-3-5-sonnet-20240620-v1:0"])
def test_bedrock_model_arns_with_a_version_suffix_fit_invoke_model(model_id):
    """Model ids carry `:0`; the ARN must still be one InvokeModel takes (parliament's strict check refuses it)."""
    doc = _doc({"Effect": "Allow", "Action": "bedrock:InvokeModel",
                "Resource": model_resources(model_id, "us-east-1", "123456789012", "aws")})
    assert findings("aws:iam/rolePolicy:RolePolicy", doc) == []
    wrong = _doc({"Effect": "Allow", "Action": "bedrock:InvokeModel",
                  "Resource": f"arn:aws:bedrock:us-east-1::model/{model_id}"})
    assert findings("aws:iam/rolePolicy:RolePolicy", wrong)


def test_every_accepted_finding_says_why():
    assert all(len(a.reason) > 40 for a in ACCEPTED)
