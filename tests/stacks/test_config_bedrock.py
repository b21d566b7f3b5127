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
    bad.write_text('{"image-ref": "s3://b/x.png", "caption": "c"}\nnot json\n')
    problems = _problems({"fineTuning": [dict(FT, localManifest=str(bad))]})
    assert problems == [
        f"ml-platform:bedrock.fineTuning[0].localManifest: {bad}:2: not JSON: Expecting value",
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
                    "bedrock.fineTuning[].name (pets); found 'dogs'")


def test_region_without_titan_fine_tuning():
    cfg = config(bedrock={"fineTuning": [FT]}, network={"availabilityZones": ["eu-west-1a", "eu-west-1b"]})
    cfg["aws:region"] = "eu-west-1"
    with pytest.raises(ConfigError) as info:
        parse(values(cfg))
    (line,) = info.value.problems
    assert line.startswith("ml-platform:bedrock.fineTuning[0]: amazon.titan-image-generator-v1 fine-tuning is "
                           "offered in us-east-1, us-west-2")


def test_data_source_required():
    (line,) = _problems({"fineTuning": [{"name": "pets", "runId": "r1"}]})
    assert line.startswith("ml-platform:bedrock.fineTuning[0].trainingDataS3Uri: expected trainingDataS3Uri")
