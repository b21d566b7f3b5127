"""Bedrock config errors."""

from __future__ import annotations

import dataclasses

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


def test_throughput_for_a_custom_model_arn_of_a_legacy_base_is_refused():
    """The ARN names the base (custom-model/<base>/<id>): the Legacy rule applies to it as to a job of this stack."""
    arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-image-generator-v1:0/a1b2c3d4e5f6"
    (line,) = _problems({"provisionedThroughput": [{"name": "serving", "modelArn": arn}]})
    assert line.startswith("ml-platform:bedrock.provisionedThroughput[0].modelArn: expected a custom model whose base "
                           "is not Legacy") and "amazon.titan-image-generator-v1:0 (Legacy)" in line
    v2 = arn.replace("-v1:0/", "-v2:0/")
    assert parse(values(config(bedrock={"provisionedThroughput": [{"name": "serving", "modelArn": v2}]})))


def test_legacy_base_model_warns_gets_no_new_throughput_and_is_refused_after_end_of_life(monkeypatch):
    import datetime as dt

    from components.catalog import bedrock_models

    legacy = dict(FT, baseModel="amazon.titan-image-generator-v1:0")
    pt = {"name": "serving", "fromFineTuning": "pets"}
    (line,) = _problems({"fineTuning": [legacy], "provisionedThroughput": [pt]})
    assert line.startswith("ml-platform:bedrock.provisionedThroughput[0].fromFineTuning: expected a model whose base "
                           "is not Legacy")
    eol = dataclasses.replace(bedrock_models.BASE_MODELS["amazon.titan-image-generator-v1:0"],
                              end_of_life=dt.date(2026, 6, 30))
    monkeypatch.setitem(bedrock_models.BASE_MODELS, eol.model_id, eol)
    monkeypatch.setattr(bedrock_models, "today", lambda: dt.date(2026, 7, 1))
    (line,) = _problems({"fineTuning": [legacy]})
    assert line == ("ml-platform:bedrock.fineTuning[0].baseModel: Titan Image Generator G1 reached its end of life on "
                    "2026-06-30 (Bedrock model lifecycle): expected one of amazon.titan-image-generator-v2:0; "
                    "found 'amazon.titan-image-generator-v1:0'")
    monkeypatch.setattr(bedrock_models, "today", lambda: dt.date(2026, 6, 29))
    assert parse(values(config(bedrock={"fineTuning": [legacy]}))).bedrock.fine_tuning[0].base_model == eol.model_id


def test_unversioned_base_model_ids_are_refused():
    (line,) = _problems({"fineTuning": [dict(FT, baseModel="amazon.titan-image-generator-v1")]})
    assert line.startswith("ml-platform:bedrock.fineTuning[0].baseModel: expected one of "
                           "amazon.titan-image-generator-v2:0, amazon.titan-image-generator-v1:0")
