"""Bedrock config errors."""

from __future__ import annotations

import pytest

from stacks.config import parse
from stacks.errors import ConfigError
from tests.helpers import ROOT, config, values

MANIFEST = str(ROOT / "examples" / "bedrock" / "pets-train.jsonl")
FT = {"name": "pets", "runId": "r1", "localManifest": MANIFEST}


def _problems(bedrock: dict, **extra) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(values(config(bedrock=bedrock, **extra)))
    return info.value.problems


def test_valid():
    cfg = parse(values(config(bedrock={"fineTuning": [FT]})))
    assert cfg.bedrock.fine_tuning[0].run_id == FT["runId"]


def test_invalid_manifest_lines_are_config_errors(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"image-ref": "s3://b/x.png", "caption": "c"}\nnot json\n{"image-ref": "img/a.png", '
                   '"caption": "c"}\n')
    problems = _problems({"fineTuning": [dict(FT, localManifest=str(bad))]})
    assert problems == [
        f"ml-platform:bedrock.fineTuning[0].localManifest: {bad}:1: image-ref must be a path relative to the "
        "manifest (the stack uploads the image); found 's3://b/x.png'",
        f"ml-platform:bedrock.fineTuning[0].localManifest: {bad}:2: not JSON: Expecting value",
        f"ml-platform:bedrock.fineTuning[0].localManifest: {bad}:3: image img/a.png not found in {tmp_path}",
        f"ml-platform:bedrock.fineTuning[0].localManifest: {bad}: 1 images; fine-tuning needs 5 to 10,000",
    ]


def test_hyperparameters_out_of_range():
    problems = _problems({"fineTuning": [dict(FT, hyperparameters={"stepCount": 50_000, "batchSize": 4,
                                                                     "learningRate": 2})]})
    assert len(problems) == 3
    assert any("hyperparameters.stepCount: expected less than or equal to 40000; found 50000" in p for p in problems)
    assert any("hyperparameters.batchSize: expected greater than or equal to 8; found 4" in p for p in problems)


def test_commitment_values_and_unknown_fine_tuning():
    (line,) = _problems({"provisionedThroughput": [{"name": "x", "modelArn": "arn:aws:bedrock:us-east-1::"
                                                    "foundation-model/amazon.titan-image-generator-v1",
                                                    "commitment": "OneYear"}]})
    assert line.startswith("ml-platform:bedrock.provisionedThroughput[0].commitment:")
    assert "'none', 'OneMonth' or 'SixMonths'" in line
    (line,) = _problems({"fineTuning": [FT], "provisionedThroughput": [{"name": "x", "fromFineTuning": "dogs"}]})
    assert line == ("ml-platform:bedrock.provisionedThroughput[0].fromFineTuning: expected one of "
                    "bedrock.fineTuning[].name or bedrock.continuedPretraining[].name (pets); found 'dogs'")


def test_region_without_titan_fine_tuning():
    cfg = config(bedrock={"fineTuning": [FT]}, network={"availabilityZones": ["eu-west-1a", "eu-west-1b"]})
    cfg["aws:region"] = "eu-west-1"
    with pytest.raises(ConfigError) as info:
        parse(values(cfg))
    (line,) = info.value.problems
    assert line.startswith("ml-platform:bedrock.fineTuning[0]: amazon.titan-image-generator-v2:0 fine-tuning is "
                           "offered in us-east-1, us-west-2")


def test_data_source_required():
    (line,) = _problems({"fineTuning": [{"name": "pets", "runId": "r1"}]})
    assert line.startswith("ml-platform:bedrock.fineTuning[0].trainingDataS3Uri: expected trainingDataS3Uri")


def test_throughput_for_a_legacy_base_is_refused_whether_named_by_custom_or_foundation_model_arn():
    """The ARN names the base (custom-model/<base>/<id>, or foundation-model/<id>): Bedrock sells no new Provisioned
    Throughput for a Legacy model (model lifecycle page), whichever way the stack names it."""
    custom = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-image-generator-v1:0/a1b2c3d4e5f6"
    foundation = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-image-generator-v1:0"
    for arn in (custom, foundation):
        (line,) = _problems({"provisionedThroughput": [{"name": "serving", "modelArn": arn}]})
        assert line.startswith("ml-platform:bedrock.provisionedThroughput[0].modelArn: expected a model Bedrock still "
                               "sells Provisioned Throughput for: Titan Image Generator G1 "
                               "(amazon.titan-image-generator-v1:0) is Legacy: no new Provisioned Throughput"), line
    v2 = custom.replace("-v1:0/", "-v2:0/")
    assert parse(values(config(bedrock={"provisionedThroughput": [{"name": "serving", "modelArn": v2}]})))


def test_a_base_model_on_the_calendar_active_then_legacy_then_past_its_end_of_life(monkeypatch):
    """Titan Image Generator G1 v2 (Legacy 2025-12-30, EOL 2026-06-30): fine-tuned while Active; once Legacy no new
    customization job and no new throughput; after its end of life every request fails. The deliberate calendar
    test: each day is set here."""
    import datetime as dt

    from components.catalog import bedrock_models

    pt = {"name": "serving", "fromFineTuning": "pets"}
    monkeypatch.setattr(bedrock_models, "today", lambda: dt.date(2025, 12, 29))
    assert parse(values(config(bedrock={"fineTuning": [FT], "provisionedThroughput": [pt]})))
    monkeypatch.setattr(bedrock_models, "today", lambda: dt.date(2026, 1, 15))
    job, serve = _problems({"fineTuning": [FT], "provisionedThroughput": [pt]})
    assert job.startswith("ml-platform:bedrock.fineTuning[0].baseModel: expected a base model Bedrock still "
                          "fine-tunes: Titan Image Generator G1 v2 (amazon.titan-image-generator-v2:0) is Legacy since "
                          "2025-12-30: no new customization jobs")
    assert "no Amazon image model can be fine-tuned on Bedrock today" in job
    assert "no new Provisioned Throughput" in serve
    monkeypatch.setattr(bedrock_models, "today", lambda: dt.date(2026, 7, 1))
    (job,) = _problems({"fineTuning": [FT]})
    assert "reached its end of life on 2026-06-30: every request fails" in job


def test_unversioned_base_model_ids_are_refused():
    (line,) = _problems({"fineTuning": [dict(FT, baseModel="amazon.titan-image-generator-v1")]})
    assert line.startswith("ml-platform:bedrock.fineTuning[0].baseModel: expected one of "
                           "amazon.titan-image-generator-v2:0, amazon.titan-image-generator-v1:0")
