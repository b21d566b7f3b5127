"""The calendar judge: Bedrock model ids checked against the lifecycle page's dates, each reason once."""

from __future__ import annotations

import datetime as dt

import pytest

from components.catalog.lifecycle import MODELS, problem

DAY = dt.date(2026, 12, 7)


@pytest.mark.parametrize(("model", "use", "day", "expected"), [
    ("anthropic.claude-3-haiku-20240307-v1:0", "invoke", DAY, ("error", "reached its end of life on 2026-09-10")),
    ("amazon.titan-image-generator-v2:0", "fine-tune", dt.date(2026, 1, 2),
     ("error", "is Legacy since 2025-12-30: no new customization jobs")),
    ("amazon.titan-image-generator-v2:0", "throughput", dt.date(2026, 1, 2),
     ("error", "is Legacy since 2025-12-30: no new Provisioned Throughput")),
    ("anthropic.claude-sonnet-4-5-20250929-v1:0", "invoke", DAY,
     ("warning", "is Legacy since 2026-10-08, public extended access (higher prices) from 2027-01-08, end of life "
                 "2027-04-08")),
    ("anthropic.claude-9-imaginary-v1:0", "invoke", DAY, ("error", "is not a Bedrock model the platform knows")),
])
def test_each_reason_to_refuse_or_warn(model, use, day, expected):
    level, why = problem(model, use, day)
    assert (level, expected[1] in why) == (expected[0], True), why


def test_current_models_and_inference_profiles_pass():
    assert problem("amazon.nova-lite-v1:0", "invoke", DAY) is None
    assert problem("us.amazon.nova-lite-v1:0", "invoke", DAY) is None, "a cross-Region profile names its model"
    assert problem("anthropic.claude-sonnet-4-5-20250929-v1:0", "invoke", dt.date(2026, 10, 7)) is None
    assert all(m.end_of_life is None or m.legacy is None or m.legacy <= m.end_of_life for m in MODELS.values())


def test_an_end_of_life_summary_model_is_refused_with_exit_2(tmp_path):
    """The KPI report's model on the real calendar (Claude 3 Haiku, EOL 2026-09-10), named with its successor."""
    import yaml

    from components.catalog import bedrock_models
    from tests.helpers import config, run_cli

    report = {"team": "web", "source": {"type": "s3", "bucket": "devops-exports", "key": "dora.json"},
              "sender": "kpi@example.com", "subscribers": ["lead@example.com"],
              "modelId": "anthropic.claude-3-haiku-20240307-v1:0"}
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump({"config": config(kpiReports=[report])}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bedrock_models, "today", lambda: DAY)
        result = run_cli("plan", "dev", "--config-file", str(path), "--quiet")
    assert result.returncode == 2
    assert "ml-platform:kpiReports[0].modelId: expected a Bedrock model that answers: Claude 3 Haiku" in result.stderr
    assert "amazon.nova-lite-v1:0" in result.stderr


@pytest.mark.parametrize(("shape", "arn", "expected"), [
    ("FoundationModelArn", "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-image-generator-v2:0",
     ("foundation-model", "amazon.titan-image-generator-v2:0")),
    ("CustomModelArn", "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-text-express-v1:0:8k/"
                       "abcdef012345", ("custom-model", "amazon.titan-text-express-v1:0:8k")),
    ("CustomModelArn", "arn:aws:bedrock:us-west-2:123456789012:custom-model/imported/abcdef012345", None),
    ("ProvisionedModelArn", "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdef012345", None),
])
def test_a_model_arn_names_its_base_model(shape, arn, expected):
    """One parser for every reader (checks, cost, the pack, `mlplat bedrock evaluate`); each ARN is one botocore's
    bedrock model accepts for its shape, so the cases are real ARNs, not ours."""
    import re

    import botocore.session

    from components.catalog.bedrock_models import base_model_of, custom_model_base, model_arn_base

    pattern = botocore.session.get_session().get_service_model("bedrock").shape_for(shape).metadata["pattern"]
    assert re.fullmatch(pattern, arn), (shape, arn)
    assert model_arn_base(arn) == expected
    assert base_model_of(arn) == (expected[1] if expected else None)
    assert custom_model_base(arn) == (expected[1] if expected and expected[0] == "custom-model" else None)
