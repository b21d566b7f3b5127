"""Training-job config errors: unknown node group, too many workers, missing operators."""

from __future__ import annotations

import pytest

from stacks.config import parse
from stacks.errors import ConfigError
from tests.helpers import config, values

GROUP = {"name": "p5", "instanceType": "p5.48xlarge", "availabilityZone": "us-east-1a", "maxSize": 2}
JOB = {"name": "llama", "runId": "r1", "nodeGroup": "p5", "workers": 2,
       "image": "1.dkr.ecr.us-east-1.amazonaws.com/fsdp:v1"}


def _cfg(job: dict, **cluster) -> dict:
    return config(gpuCluster={"enabled": True, "publicAccessCidrs": ["198.51.100.0/24"], "nodeGroups": [GROUP],
                              **cluster}, trainingJobs=[job])


def _problems(cfg: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(values(cfg))
    return info.value.problems


def test_valid_job():
    assert parse(values(_cfg(JOB))).training_jobs[0].rendezvous == "etcd"


def test_unknown_node_group():
    (line,) = _problems(_cfg(dict(JOB, nodeGroup="p6")))
    assert line == "ml-platform:trainingJobs[0].nodeGroup: expected one of the GPU node groups (p5); found 'p6'"


def test_more_workers_than_max_size():
    (line,) = _problems(_cfg(dict(JOB, workers=3)))
    assert line == "ml-platform:trainingJobs[0].workers: asks for up to 3 workers but node group 'p5' has maxSize 2"


def test_etcd_rendezvous_without_etcd_operator():
    (line,) = _problems(_cfg(JOB, operators={"etcd": False}))
    assert line.startswith("ml-platform:trainingJobs[0].rendezvous: etcd rendezvous needs")
    assert parse(values(_cfg(dict(JOB, rendezvous="c10d"), operators={"etcd": False})))


def test_job_without_training_operator_or_cluster():
    (line,) = _problems(_cfg(JOB, operators={"trainingOperator": {"enabled": False}}))
    assert "trainingOperator.enabled: true" in line
    (line,) = _problems(config(trainingJobs=[JOB]))
    assert line == "ml-platform:trainingJobs[0]: training jobs need gpuCluster.enabled: true"


def test_image_needs_registry_and_pinned_tag():
    (line,) = _problems(_cfg(dict(JOB, image="pytorch")))
    assert line.startswith("ml-platform:trainingJobs[0].image: expected an image reference with a registry")
    assert line.endswith("found 'pytorch'")


def test_elastic_bounds():
    (line,) = _problems(_cfg(dict(JOB, elastic={"minReplicas": 3})))
    assert line == ("ml-platform:trainingJobs[0].workers: expected a value within elastic [minReplicas, maxReplicas] = "
                    "[3, 2]; found 2")


def test_hf_token_must_be_a_secure_value():
    raw = values(_cfg(dict(JOB, hfToken="hf_plaintext")))
    with pytest.raises(ConfigError) as info:
        parse(raw)
    (line,) = info.value.problems
    assert line.startswith("ml-platform:trainingJobs[0].hfToken: expected a secret (pulumi config set --secret")
    assert "hf_plaintext" not in line
    assert parse(raw, secret_keys={"ml-platform:trainingJobs"}).training_jobs[0].hf_token is not None


def test_names_kubernetes_would_refuse_later_are_refused_now():
    """Services `<name>-<runId>-worker-<i>` are DNS-1035 labels (63): a longer one is never created, the job never
    starts. The index grows with elastic maxReplicas."""
    long = dict(JOB, name="a" * 40, runId="r" * 16, workers=2, elastic={"maxReplicas": 2})
    (line,) = _problems(_cfg(long, nodeGroups=[dict(GROUP, maxSize=16)]))
    assert line.startswith("ml-platform:trainingJobs[0].runId: expected name and runId short enough for the job's "
                           f"Services: `{'a' * 40}-{'r' * 16}-worker-1` has 66 characters, Kubernetes allows 63")
    assert line.endswith("shorten name or runId by 3")
    fits = dict(JOB, name="a" * 37, runId="r" * 16, workers=2)
    assert len(f"{fits['name']}-{fits['runId']}-worker-1") == 63
    assert parse(values(_cfg(fits)))


def test_rayjob_names_over_kuberays_limit_are_refused():
    from components.ray_job.args import CurationRayJobArgs

    job = {"name": "c" * 32, "runId": "r" * 16, "inputUri": "s3://bucket/in/", "outputUri": "s3://bucket/out/",
           "domainConfig": "examples/corpus/domain.yaml", "image": "1.dkr.ecr.us-east-1.amazonaws.com/ray:2.60.0"}
    with pytest.raises(Exception) as info:
        CurationRayJobArgs.model_validate(job)
    assert "at most 47 characters (KubeRay's MaxRayJobNameLength" in str(info.value)
    assert "has 49" in str(info.value)
    assert CurationRayJobArgs.model_validate(dict(job, runId="r" * 14)).run_name == f"{'c' * 32}-{'r' * 14}"
