"""Bedrock continued pre-training: the staging stack's job on the curated example, its upload, role and checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stacks.config import parse
from stacks.errors import ConfigError
from tests.botocore_shapes import enum_values, validate
from tests.helpers import ROOT, config, values

CORPUS = "examples/corpus/curated"
CPT = {"name": "fin", "runId": "r1", "localCorpus": str(ROOT / CORPUS)}


@pytest.fixture(scope="module")
def staging(envs):
    return envs["staging"]


def test_staging_plans_a_continued_pretraining_job(staging):
    model = staging.get("aws:bedrock/customModel:CustomModel", "mlplat-staging-fin-titan-model")
    inputs = model["inputs"]
    assert inputs["customizationType"] == "CONTINUED_PRE_TRAINING"
    assert "CONTINUED_PRE_TRAINING" in enum_values("bedrock", "CustomizationType")
    assert inputs["baseModelIdentifier"] == \
        "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-text-express-v1:0:8k"
    assert inputs["hyperparameters"] == {"epochCount": "2", "batchSize": "1", "learningRate": "1e-05",
                                         "learningRateWarmupSteps": "5"}
    bucket = staging.get("aws:s3/bucket:Bucket", "mlplat-staging-fin-titan-data")["inputs"]["bucket"]
    assert inputs["trainingDataConfig"] == {"s3Uri": f"s3://{bucket}/training/train.jsonl"}
    assert inputs["vpcConfig"]["subnetIds"] and inputs["vpcConfig"]["securityGroupIds"]
    assert model["retainOnDelete"] is True
    corpus = staging.get("aws:s3/bucketObjectv2:BucketObjectv2", "mlplat-staging-fin-titan-corpus")
    assert corpus["inputs"]["source"]["fileAsset"] == f"{CORPUS}/bedrock/train.jsonl"
    assert corpus["inputs"]["key"] == "training/train.jsonl"
    assert corpus["inputs"]["serverSideEncryption"] == "aws:kms" and corpus["inputs"]["kmsKeyId"]
    assert corpus["urn"] in model["dependencies"], "the job must not start before its corpus is uploaded"
    role = staging.get("aws:iam/role:Role", "mlplat-staging-fin-titan-role")["outputs"]["arn"]
    params = {"jobName": inputs["jobName"], "customModelName": inputs["customModelName"], "roleArn": role,
              "baseModelIdentifier": inputs["baseModelIdentifier"], "customizationType": inputs["customizationType"],
              "hyperParameters": inputs["hyperparameters"], "trainingDataConfig": inputs["trainingDataConfig"],
              "outputDataConfig": inputs["outputDataConfig"], "customModelKmsKeyId": inputs["customModelKmsKeyId"],
              "vpcConfig": inputs["vpcConfig"]}
    assert validate("bedrock", "CreateModelCustomizationJob", params) == []


def test_role_reads_only_the_training_prefix_and_tags_only_its_enis(staging):
    policy = json.loads(staging.get("aws:iam/rolePolicy:RolePolicy", "mlplat-staging-fin-titan-role")["inputs"]
                        ["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadTrainingData"]["Resource"] == "arn:aws:s3:::mlplat-staging-fin-titan-123456789012/training/*"
    assert "ValidationData" not in json.dumps(policy)
    assert by_sid["TagEnisAtCreation"]["Condition"]["StringEquals"] == {"ec2:CreateAction": ["CreateNetworkInterface"]}


def test_the_curated_example_is_what_curate_produces(tmp_path: Path):
    """The committed corpus is regenerated, not edited by hand: same command, same records."""
    from tests.helpers import run_cli

    stats = json.loads((ROOT / CORPUS / "stats.json").read_text())
    result = run_cli("corpus", "curate", "--input", str(ROOT / "examples/corpus/input"), "--output",
                     str(tmp_path), "--domain-config", str(ROOT / "examples/corpus/domain.yaml"),
                     "--max-tokens", str(stats["options"]["maxTokens"]), "--select", stats["options"]["select"],
                     "--keep-fraction", str(stats["options"]["keepFraction"]))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "bedrock/train.jsonl").read_text() == (ROOT / CORPUS / "bedrock/train.jsonl").read_text()


def _problems(cpt: list[dict], **extra) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(values(config(bedrock={"continuedPretraining": cpt, **extra})))
    return info.value.problems


def test_batch_size_and_record_limits(tmp_path: Path):
    (line,) = _problems([dict(CPT, hyperParameters={"batchSize": 5})])
    assert line == ("ml-platform:bedrock.continuedPretraining[0].hyperParameters.batchSize: expected at most 4 for "
                    "amazon.titan-text-express-v1:0:8k (Bedrock's record limits stop there); found 5")
    (line,) = _problems([dict(CPT, hyperParameters={"batchSize": 2})])
    assert line.endswith("amazon.titan-text-express-v1:0:8k at batch size 2 takes at most 2,048 tokens per record; "
                         "the corpus was chunked to 4,096 (curate again with --max-tokens 2048)")
    lite = parse(values(config(bedrock={"continuedPretraining": [
        dict(CPT, baseModel="amazon.titan-text-lite-v1:0:4k", hyperParameters={"batchSize": 2})]})))
    assert lite.bedrock.continued_pretraining[0].hyper_parameters.batch_size == 2  # Lite keeps 4,096 at 2


def test_local_corpus_records_and_presence(tmp_path: Path):
    (tmp_path / "bedrock").mkdir()
    (tmp_path / "bedrock/train.jsonl").write_text('{"input": "ok"}\n{"text": "wrong key"}\n')
    (line, missing_stats) = _problems([dict(CPT, localCorpus=str(tmp_path))])
    assert line == (f"ml-platform:bedrock.continuedPretraining[0].localCorpus: {tmp_path}/bedrock/train.jsonl:2: "
                    "expected exactly {\"input\": \"<text>\"}, found '{\"text\": \"wrong key\"}\\n'")
    assert "stats.json from `mlplat corpus curate`" in missing_stats
    (line,) = _problems([dict(CPT, localCorpus=str(tmp_path / "nope"))])
    assert line.endswith("(the output of `mlplat corpus curate`); it does not exist")
    (line,) = _problems([dict(CPT, trainingDataUri="s3://my-bucket/cpt/train.jsonl")])
    assert line.startswith("ml-platform:bedrock.continuedPretraining[0].trainingDataUri: expected exactly one of")


def test_region_names_clash_and_throughput_from_any_customization():
    cfg = config(bedrock={"continuedPretraining": [CPT]}, network={"availabilityZones": ["eu-west-1a", "eu-west-1b"]})
    cfg["aws:region"] = "eu-west-1"
    with pytest.raises(ConfigError) as info:
        parse(values(cfg))
    assert info.value.problems == ["ml-platform:bedrock.continuedPretraining[0].baseModel: "
                                   "amazon.titan-text-express-v1:0:8k continued pre-training is offered in us-east-1, "
                                   "us-west-2; found region 'eu-west-1'"]
    ft = {"name": "fin", "runId": "r1", "localManifest": str(ROOT / "examples/bedrock/pets-train.jsonl")}
    (line,) = _problems([CPT], fineTuning=[ft])
    assert line.startswith("ml-platform:bedrock.continuedPretraining[0].name: expected a name no bedrock.fineTuning[]")
    # Once Titan Text is Legacy (no later than 2025-02-11), neither the job nor throughput for its model is allowed.
    import datetime as dt

    from components.catalog import bedrock_models

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bedrock_models, "today", lambda: dt.date(2025, 3, 1))
        with pytest.raises(ConfigError) as info:
            parse(values(config(bedrock={"continuedPretraining": [CPT], "provisionedThroughput": [
                {"name": "serve", "fromCustomization": "fin"}]})))
    pretrain, serve = info.value.problems
    assert pretrain.startswith("ml-platform:bedrock.continuedPretraining[0].baseModel: expected a base model Bedrock "
                               "still pre-trains: Titan Text G1 - Express (amazon.titan-text-express-v1:0:8k) is "
                               "Legacy")
    assert "use trainingJobs[] with objective continued-pretraining on the GPU cluster" in pretrain
    assert serve.startswith("ml-platform:bedrock.provisionedThroughput[0].fromCustomization: expected a model Bedrock "
                            "still sells Provisioned Throughput for: 'fin' customizes Titan Text G1 - Express")
    (line,) = _problems([CPT], provisionedThroughput=[{"name": "serve", "fromCustomization": "fin",
                                                       "fromFineTuning": "fin"}])
    assert line.endswith("expected exactly one of modelArn and fromCustomization; found fromCustomization and "
                         "fromFineTuning")
