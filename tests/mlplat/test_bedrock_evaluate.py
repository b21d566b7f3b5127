"""`mlplat bedrock evaluate`: two evaluation jobs whose requests botocore's model accepts (Stubber on a real
bedrock client), polled to completion, scored from results laid out as Bedrock writes them (moto S3), printed side
by side; inputs that cannot work refused with exit 2; the plan warns about a commitment nobody evaluated."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from moto import mock_aws

from tests.helpers import ROOT, run_cli

#: A custom model whose base is not Legacy (Bedrock sells no new throughput for Legacy models; the config refuses it).
CUSTOM = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/a1b2c3d4e5f6"
PROVISIONED = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abcdef123456"
ROLE = "arn:aws:iam::123456789012:role/bedrock-eval"
JOB = "arn:aws:bedrock:us-east-1:123456789012:evaluation-job/{}"


def _stack(tmp_path: Path, model_arn: str = CUSTOM) -> Path:
    """A prod stack with only what a stack needs (region, environment, tags, network) and Bedrock throughput."""
    full = yaml.safe_load((ROOT / "tests" / "fixtures" / "stacks" / "Pulumi.prod.yaml").read_text())["config"]
    cfg = {"config": {key: full[key] for key in ("aws:region", "ml-platform:environment", "ml-platform:tags",
                                                          "ml-platform:network")}}
    cfg["config"]["ml-platform:bedrock"] = {"provisionedThroughput": [
        {"name": "fin-serving", "modelArn": model_arn, "commitment": "OneMonth"}]}
    path = tmp_path / "Pulumi.prod-eval.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


class _Session:
    def __init__(self, bedrock, s3) -> None:
        self._clients = {"bedrock": bedrock, "s3": s3}

    def client(self, name: str):
        return self._clients[name]


def _results(s3, job_name: str, model: str, accuracy: list[float]) -> None:
    """Results as Bedrock lays them out: <output>/<job>/<uuid>/models/<model>/taskTypes/<task>/datasets/<ds>/."""
    key = (f"evals/{job_name}/0c1d2e3f/models/{model}/taskTypes/QuestionAndAnswer/datasets/Builtin.BoolQ/"
           "f00d_output.jsonl")
    lines = [json.dumps({"automatedEvaluationResult": {"scores": [
        {"metricName": "Accuracy", "result": a}, {"metricName": "Toxicity", "result": 0.01}]},
        "inputRecord": {"prompt": "p"}, "modelResponses": [{"response": "r"}]}) for a in accuracy]
    s3.put_object(Bucket="eval-results", Key=key, Body="\n".join(lines) + "\n")


@pytest.fixture
def aws(monkeypatch):
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="eval-results")
        bedrock = boto3.client("bedrock", region_name="us-east-1")
        with Stubber(bedrock) as stub:
            monkeypatch.setattr(boto3.session, "Session", lambda **_: _Session(bedrock, s3))
            yield stub, s3


def _expected(name: str, model: str) -> dict:
    return {"jobName": name, "roleArn": ROLE, "applicationType": "ModelEvaluation",
            "evaluationConfig": {"automated": {"datasetMetricConfigs": [
                {"taskType": "QuestionAndAnswer", "dataset": {"name": "Builtin.BoolQ"},
                 "metricNames": ["Builtin.Accuracy", "Builtin.Robustness", "Builtin.Toxicity"]}]}},
            "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": model}}]},
            "outputDataConfig": {"s3Uri": "s3://eval-results/evals/"}}


def test_base_and_custom_are_evaluated_alike_and_scored_side_by_side(tmp_path, aws, monkeypatch):
    import datetime as dt

    from mlplat import bedrock_cli

    stub, s3 = aws
    stamp = dt.datetime(2026, 12, 5, 9, 30, tzinfo=dt.UTC)
    real_cmd = bedrock_cli.cmd
    monkeypatch.setattr(bedrock_cli, "cmd", lambda args: real_cmd(args, now=stamp))
    base_name, custom_name = "fin-serving-base-20261205-093000", "fin-serving-custom-20261205-093000"
    # The base model as invoked on demand; the custom model through its (no-commitment) provisioned model.
    stub.add_response("create_evaluation_job", {"jobArn": JOB.format("aaaaaaaaaaaa")},
                      _expected(base_name, "amazon.nova-micro-v1:0"))
    stub.add_response("create_evaluation_job", {"jobArn": JOB.format("bbbbbbbbbbbb")},
                      _expected(custom_name, PROVISIONED))
    # First round: the base job still runs, the custom one is done; second round: only the base job is asked about.
    for job, name, status in (("aaaaaaaaaaaa", base_name, "InProgress"), ("bbbbbbbbbbbb", custom_name, "Completed"),
                              ("aaaaaaaaaaaa", base_name, "Completed")):
        stub.add_response("get_evaluation_job", _job(name, JOB.format(job), status), {"jobIdentifier": JOB.format(job)})
    _results(s3, base_name, "amazon.nova-micro-v1:0", [0.5, 0.6])
    _results(s3, custom_name, "abcdef123456", [0.8, 0.9])
    result = run_cli("bedrock", "evaluate", "prod-eval", "fin-serving", "--config-file", str(_stack(tmp_path)),
                     "--provisioned-model-arn", PROVISIONED, "--role-arn", ROLE, "--output",
                     "s3://eval-results/evals/", "--wait", "--poll-seconds", "0")
    assert result.returncode == 0, result.stderr
    stub.assert_no_pending_responses()
    assert f"evaluationJobs: [{JOB.format('aaaaaaaaaaaa')}, {JOB.format('bbbbbbbbbbbb')}]" in result.stdout
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[-3:]}
    assert rows["Accuracy"] == ["0.550", "0.850", "+0.300"] and rows["Toxicity"] == ["0.010", "0.010", "+0.000"]
    assert "1 evaluation job(s) in progress" in result.stderr


def _job(name: str, arn: str, status: str) -> dict:
    import datetime as dt

    return {"jobName": name, "status": status, "jobArn": arn, "roleArn": ROLE, "jobType": "Automated",
            "evaluationConfig": {"automated": {"datasetMetricConfigs": [
                {"taskType": "QuestionAndAnswer", "dataset": {"name": "Builtin.BoolQ"},
                 "metricNames": ["Builtin.Accuracy"]}]}},
            "inferenceConfig": {"models": [{"bedrockModel": {"modelIdentifier": "m.x"}}]},
            "outputDataConfig": {"s3Uri": "s3://eval-results/evals/"}, "creationTime": dt.datetime(2026, 12, 5)}


@pytest.mark.parametrize("change,needle", [
    ({"model_arn": "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.titan-image-generator-v2:0/a1b2c3"},
     "generates images, and automatic evaluation jobs judge text"),
    ({"extra": ["--provisioned-model-arn", CUSTOM]}, "--provisioned-model-arn: expected arn:aws:bedrock:<region>"),
    ({"extra": ["--dataset", "s3://eval-results/prompts.csv"]}, "--dataset: expected Builtin.<name> or s3://"),
    ({"name": "nope"}, "has no bedrock.provisionedThroughput entry 'nope' (entries: fin-serving)"),
])
def test_what_cannot_work_is_refused_before_any_job_starts(tmp_path, aws, change, needle):
    stub, _ = aws  # no response queued: any AWS call would fail the test
    argv = ["bedrock", "evaluate", "prod-eval", change.get("name", "fin-serving"), "--config-file",
            str(_stack(tmp_path, change.get("model_arn", CUSTOM))), "--provisioned-model-arn", PROVISIONED,
            "--role-arn", ROLE, "--output", "s3://eval-results/evals/", *change.get("extra", [])]
    result = run_cli(*argv)
    assert result.returncode == 2 and needle in result.stderr, result.stderr


def test_a_commitment_nobody_evaluated_is_a_plan_warning(tmp_path, envs):
    warnings = [d["message"] for d in envs["prod"].diagnostics if d["severity"] == "warning"]
    assert any("a commitment with no evaluation recorded" in w for w in warnings), warnings
    path = _stack(tmp_path)
    cfg = yaml.safe_load(path.read_text())
    cfg["config"]["ml-platform:bedrock"]["provisionedThroughput"][0]["evaluationJobs"] = [
        JOB.format("aaaaaaaaaaaa"), JOB.format("bbbbbbbbbbbb")]
    path.write_text(yaml.safe_dump(cfg))
    result = run_cli("plan", "prod-eval", "--config-file", str(path), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "no evaluation recorded" not in result.stdout + result.stderr
    cfg["config"]["ml-platform:bedrock"]["provisionedThroughput"][0]["evaluationJobs"] = ["job-1"]
    path.write_text(yaml.safe_dump(cfg))
    bad = run_cli("plan", "prod-eval", "--config-file", str(path))
    assert bad.returncode == 2 and "evaluationJobs[0]" in bad.stderr


def test_the_requests_match_the_api_patterns_that_botocore_leaves_to_the_service():
    import datetime as dt

    from mlplat.bedrock_cli import Evaluation, dataset_config, job_name
    from mlplat.project import InputError
    from tests.botocore_shapes import validate

    stamp = dt.datetime(2026, 12, 5, 9, 30, tzinfo=dt.UTC)
    with pytest.raises(InputError, match="--dataset: expected"):
        dataset_config("s3://eval-results/my prompts.jsonl")  # the service's S3Uri pattern has no spaces
    evaluation = Evaluation("QuestionAndAnswer", dataset_config("s3://eval-results/my-prompts.jsonl"),
                            ["Builtin.Accuracy"], "s3://eval-results/evals/", ROLE)
    for model in ("amazon.nova-micro-v1:0", PROVISIONED):
        request = evaluation.request(job_name("Fin_Serving.v2", "custom", stamp), model)
        assert validate("bedrock", "CreateEvaluationJob", request, patterns=True) == []
    # The judge refuses what the service would: a custom-model ARN is not an evaluation model identifier.
    wrong = evaluation.request("fin-custom", CUSTOM)
    assert any("modelIdentifier" in e for e in validate("bedrock", "CreateEvaluationJob", wrong, patterns=True))
