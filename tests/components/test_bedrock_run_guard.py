"""One training run per runId (components/bedrock/run_guard.py): changing what a job trains on without a new runId
is refused before anything changes, by the engine (the guard's diff) and offline between two saved plans."""

from __future__ import annotations

import importlib.util
import json

import pytest

from components.bedrock.run_guard import RunChanged, RunGuardProvider
from tests.helpers import ROOT, config, plan_config

MANIFEST = str(ROOT / "examples" / "bedrock" / "pets-train.jsonl")
spec = importlib.util.spec_from_file_location("compare_plans", ROOT / "scripts" / "compare_plans.py")
compare_plans = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_plans)


def _guard(view) -> dict:
    (guard,) = [r for r in view.of_type("pulumi-python:dynamic:Resource") if r["name"].endswith("-run")]
    return guard


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    """The same job planned with 60 and then 500 training images (the step count follows: 5,000 -> 10,000)."""
    folder = tmp_path_factory.mktemp("runs")
    job = {"name": "pets", "runId": "r1", "trainingDataS3Uri": "s3://corp-data/pets/train.jsonl",
           "outputS3Uri": "s3://corp-data/pets/output/"}
    views = {}
    for images in (60, 500):
        view = plan_config(folder, config(bedrock={"fineTuning": [dict(job, imageCount=images)]}))
        path = folder / f"plan-{images}.json"
        path.write_text(json.dumps(view.plan))
        views[images] = (view, path)
    return views


def test_a_changed_job_under_the_same_run_id_is_refused_between_two_plans(plans, capsys):
    (old, old_path), (new, new_path) = plans[60], plans[500]
    model = "aws:bedrock/customModel:CustomModel"
    assert old.of_type(model)[0]["inputs"]["jobName"] == new.of_type(model)[0]["inputs"]["jobName"]
    assert _guard(old)["inputs"]["fingerprint"] != _guard(new)["inputs"]["fingerprint"]
    assert compare_plans.main([str(old_path), str(new_path)]) == 2
    assert "runId: mlplat-dev-pets run 'r1' was started with other inputs" in capsys.readouterr().err


def test_the_guard_refuses_in_the_engine_and_lets_a_new_run_through(plans):
    old, new = _guard(plans[60][0])["inputs"], _guard(plans[500][0])["inputs"]
    provider = RunGuardProvider()
    with pytest.raises(RunChanged, match="set a new runId"):
        provider.diff("id", old, new)
    assert provider.diff("id", old, old).changes is False
    rerun = provider.diff("id", old, dict(new, run_id="r2"))
    assert rerun.changes and rerun.replaces == ["run_id"]
    assert compare_plans.refused_runs(plans[60][0].plan, plans[60][0].plan) == []


def test_one_more_availability_zone_replaces_a_vpc_job_and_is_refused_under_the_same_run_id(tmp_path):
    """vpc_config subnet_ids force a new job (terraform-provider-aws custom_model.go): the guard carries the
    resolved subnets, so a third AZ under the same runId is refused between the two plans, naming what changed."""
    job = {"name": "pets", "runId": "r1", "trainingDataS3Uri": "s3://corp-data/pets/train.jsonl",
           "outputS3Uri": "s3://corp-data/pets/output/", "imageCount": 60, "vpc": True}
    paths = []
    for zones in (["us-east-1a", "us-east-1b"], ["us-east-1a", "us-east-1b", "us-east-1c"]):
        network = {"vpcCidr": "10.0.0.0/16", "availabilityZones": zones}
        view = plan_config(tmp_path, config(network=network, bedrock={"fineTuning": [job]}))
        paths.append(tmp_path / f"plan-{len(zones)}.json")
        paths[-1].write_text(json.dumps(view.plan))
        assert len(_guard(view)["inputs"]["forces"]["vpcSubnetIds"]) == len(zones)
    old, new = (json.loads(p.read_text()) for p in paths)
    (why,) = compare_plans.refused_runs(old, new)
    assert "run 'r1' was started with other inputs (vpcSubnetIds)" in why
    provider = RunGuardProvider()
    with pytest.raises(RunChanged, match=r"\(vpcSubnetIds\)"):
        provider.diff("id", _guard_in(old)["inputs"], _guard_in(new)["inputs"])


def test_the_guard_follows_its_job_so_a_job_aws_refused_can_be_corrected(plans):
    """The guard is created after the job: a job that failed at creation left no guard, and the corrected job plans
    under the same runId without a refusal."""
    view = plans[60][0]
    guard, model = _guard(view), view.of_type("aws:bedrock/customModel:CustomModel")[0]
    assert model["urn"] in guard["dependencies"] and guard["urn"] not in model["dependencies"]
    failed_first = json.loads(json.dumps(plans[60][0].plan))
    failed_first["resources"] = [r for r in failed_first["resources"] if r["urn"] not in (guard["urn"], model["urn"])]
    assert compare_plans.refused_runs(failed_first, plans[500][0].plan) == []


def _guard_in(plan: dict) -> dict:
    (guard,) = [r for r in plan["resources"] if r["type"] == "pulumi-python:dynamic:Resource"
                and r["name"].endswith("-run")]
    return guard
