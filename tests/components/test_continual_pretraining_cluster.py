"""The cluster path of continual pre-training in the staging plan: a RayJob curates on KubeRay, a PyTorchJob
continues pre-training Pythia on the token shards; both run as their own pod identities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.catalog.versions import RAY_VERSION, helm_chart
from components.training_job.args import TrainingJobArgs
from stacks.config import parse
from stacks.errors import ConfigError
from tests.helpers import CLUSTER, ROOT, config, values
from tests.kubernetes_schemas import validate_rayjob

RAYJOB = "kubernetes:ray.io/v1:RayJob"
PYTORCH_JOB = "kubernetes:kubeflow.org/v1:PyTorchJob"


@pytest.fixture(scope="module")
def staging(envs):
    return envs["staging"]


def _policy(view, name: str) -> dict:
    return json.loads(view.get("aws:iam/rolePolicy:RolePolicy", name)["inputs"]["policy"])


def test_kuberay_operator_is_installed_before_the_rayjob(staging):
    release = staging.get("kubernetes:helm.sh/v3:Release", "mlplat-staging-ops-kuberay-operator")
    repo, chart, version = helm_chart("kuberay-operator")
    assert (release["inputs"]["chart"], release["inputs"]["version"]) == (chart, version)
    assert release["inputs"]["repositoryOpts"]["repo"] == repo
    job = staging.get(RAYJOB, "mlplat-staging-ray-fin-corpus-job")
    assert release["urn"] in job["dependencies"], "the RayJob CRD comes with the operator's chart"


def test_rayjob_runs_the_curation_on_ray(staging):
    job = staging.get(RAYJOB, "mlplat-staging-ray-fin-corpus-job")["inputs"]
    spec = job["spec"]
    assert spec["entrypoint"] == (
        "env RAY_ADDRESS=auto mlplat corpus curate --input s3://example-corpus-bucket/raw/ --output "
        "s3://example-corpus-bucket/curated/fin-corpus-r1/ --domain-config /etc/mlplat/domain.yaml --executor ray "
        "--workers 4 --max-tokens 2048 --tokenizer s3://example-corpus-bucket/tokenizers/pythia-1b/tokenizer.json "
        "--select entropy --keep-fraction 0.1")
    assert (spec["shutdownAfterJobFinishes"], spec["backoffLimit"]) == (True, 0)
    cluster = spec["rayClusterSpec"]
    assert cluster["rayVersion"] == RAY_VERSION
    constraints = (ROOT / "constraints.txt").read_text().splitlines()
    assert f"ray=={RAY_VERSION}" in constraints, "the image's Ray, the RayJob's rayVersion and our pin must agree"
    assert cluster["headGroupSpec"]["rayStartParams"] == {"num-cpus": "0"}
    (workers,) = cluster["workerGroupSpecs"]
    assert workers["replicas"] == workers["minReplicas"] == workers["maxReplicas"] == 2
    domain = staging.get("kubernetes:core/v1:ConfigMap", "mlplat-staging-ray-fin-corpus-domain")["inputs"]
    assert domain["data"]["domain.yaml"] == (ROOT / "examples/corpus/domain.yaml").read_text()
    for pod in (cluster["headGroupSpec"]["template"]["spec"], workers["template"]["spec"]):
        assert pod["serviceAccountName"] == "fin-corpus-r1-ray"
        assert pod["volumes"] == [{"name": "domain", "configMap": {"name": "fin-corpus-r1-domain"}}]


def test_the_rayjob_judge_refuses_unknown_fields(staging):
    job = staging.get(RAYJOB, "mlplat-staging-ray-fin-corpus-job")["inputs"]
    assert validate_rayjob(job, "1.33") == []
    bad = {**job, "spec": {**job["spec"], "ttlSecondsAfterFinished": 60, "shutdownAfterJobFinishes": False,
                           "entryPoint": "x"}}
    problems = validate_rayjob(bad, "1.33")
    assert "spec.entryPoint: unknown field" in problems
    assert any("needs shutdownAfterJobFinishes" in p for p in problems)


def test_pod_identities_are_scoped(staging):
    curate = _policy(staging, "mlplat-staging-ray-fin-corpus-pods")
    by_sid = {s["Sid"]: s for s in curate["Statement"]}
    assert by_sid["ReadCorpus"]["Resource"] == "arn:aws:s3:::example-corpus-bucket/raw/*"
    assert by_sid["WriteOutput"]["Resource"] == "arn:aws:s3:::example-corpus-bucket/curated/fin-corpus-r1/*"
    assert by_sid["ReadTokenizer"]["Resource"] == \
        "arn:aws:s3:::example-corpus-bucket/tokenizers/pythia-1b/tokenizer.json"
    train = {s["Sid"]: s for s in _policy(staging, "mlplat-staging-job-pythia-fin-pods")["Statement"]}
    assert train["ReadShards"]["Resource"] == "arn:aws:s3:::example-corpus-bucket/curated/fin-corpus-r1/tokens/*"
    assert train["WriteModel"]["Resource"] == "arn:aws:s3:::example-corpus-bucket/models/*"
    for key, sa in (("ray-fin-corpus", "fin-corpus-r1-ray"), ("job-pythia-fin", "pythia-fin-r1")):
        association = staging.get("aws:eks/podIdentityAssociation:PodIdentityAssociation", f"mlplat-staging-{key}-pods")
        assert (association["inputs"]["namespace"], association["inputs"]["serviceAccount"]) == ("training", sa)
        role = staging.get("aws:iam/role:Role", f"mlplat-staging-{key}-pods")
        trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}


def test_pytorchjob_continues_pretraining_on_the_shards(staging):
    job = staging.get(PYTORCH_JOB, "mlplat-staging-job-pythia-fin-job")["inputs"]
    pod = job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]
    (command,) = pod["containers"][0]["command"][2:]
    assert command == (
        "torchrun --nproc_per_node=8 --nnodes=1 /opt/mlplat/continued_pretraining.py --model EleutherAI/pythia-1b "
        "--tokens s3://example-corpus-bucket/curated/fin-corpus-r1/tokens/ --output "
        "s3://example-corpus-bucket/models/pythia-fin-r1/ --epochs 1 --batch-size 8 --lr 2e-05 "
        "--checkpoint-dir /fsx/checkpoints/pythia-fin-r1/")
    assert pod["serviceAccountName"] == "pythia-fin-r1"
    script = staging.get("kubernetes:core/v1:ConfigMap", "mlplat-staging-job-pythia-fin-script")["inputs"]
    source = ROOT / "components/training_job/scripts/continued_pretraining.py"
    assert script["data"] == {"continued_pretraining.py": source.read_text()}
    assert {"name": "script", "configMap": {"name": "pythia-fin-r1-script"}} in pod["volumes"]


def _job_problems(job: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(values(config(gpuCluster=CLUSTER, trainingJobs=[job])))
    return info.value.problems


def test_objectives_need_their_data():
    base = {"name": "j", "runId": "r1", "nodeGroup": "p4de", "workers": 1,
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/cpt:1"}
    (line,) = _job_problems({**base, "objective": "continued-pretraining", "outputUri": "s3://bkt/models/"})
    assert line == ("ml-platform:trainingJobs[0].tokenShardsUri: expected an S3 prefix for objective "
                    "continued-pretraining; found none")
    (line,) = _job_problems({**base, "tokenShardsUri": "s3://bkt/tokens/"})
    assert line.startswith("ml-platform:trainingJobs[0].tokenShardsUri: expected no token shards for objective "
                           "fine-tune")
    assert TrainingJobArgs.model_validate(base).model == "meta-llama/Llama-2-7b-hf"
    cpt = {**base, "objective": "continued-pretraining", "tokenShardsUri": "s3://bkt/t/", "outputUri": "s3://bkt/m/"}
    assert TrainingJobArgs.model_validate(cpt).model == "EleutherAI/pythia-1b"


RAY = {"name": "c", "runId": "r1", "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/curate:1",
       "inputUri": "s3://bkt/raw/", "outputUri": "s3://bkt/out/",
       "domainConfig": str(ROOT / "examples/corpus/domain.yaml")}


def _ray_problems(job: dict, operators: dict | None = None) -> list[str]:
    cluster = {**CLUSTER, "operators": {"kuberay": True, **(operators or {})}}
    with pytest.raises(ConfigError) as info:
        parse(values(config(gpuCluster=cluster, rayJobs=[job])))
    return info.value.problems


def test_rayjob_config_checks(tmp_path: Path):
    (line,) = _ray_problems(RAY, {"kuberay": False})
    assert line == ("ml-platform:rayJobs[0]: RayJobs need gpuCluster.enabled: true and "
                    "gpuCluster.operators.kuberay: true")
    (line,) = _ray_problems({**RAY, "workerMemory": "64Gi"})
    assert line == ("ml-platform:rayJobs[0].workerMemory: expected at most 14Gi (a c5.2xlarge has 16 GiB); "
                    "found 64Gi")
    bad = tmp_path / "d.yaml"
    bad.write_text("outlets: [https://ft.com]\n")
    (line,) = _ray_problems({**RAY, "domainConfig": str(bad)})
    assert line.startswith("ml-platform:rayJobs[0].domainConfig:") and "expected a host name" in line
    (line,) = _ray_problems({**RAY, "workerMemory": "500m"})  # millibytes are a CPU unit, not memory
    assert line.startswith("ml-platform:rayJobs[0].workerMemory:")
    (line,) = _ray_problems({**RAY, "inputUri": "s3://bkt/raw"})
    assert "expected an S3 prefix ending in /" in line


def test_training_waits_for_the_curation_without_holding_a_gpu(staging):
    """The PyTorchJob reading the RayJob's output is created suspended (no pods, so no GPU node is brought up);
    a Job on the system nodes waits for that RayJob to succeed, then un-suspends exactly that PyTorchJob."""
    rayjob = staging.get(RAYJOB, "mlplat-staging-ray-fin-corpus-job")["inputs"]
    training = staging.get(PYTORCH_JOB, "mlplat-staging-job-pythia-fin-job")["inputs"]
    assert training["spec"]["runPolicy"] == {"suspend": True, "backoffLimit": 3, "activeDeadlineSeconds": 259200}
    assert training["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["nodeSelector"][
        "mlplat.io/node-group"] == "p4de"
    gate = staging.get("kubernetes:batch/v1:Job", "mlplat-staging-job-pythia-fin-gate")["inputs"]
    pod = gate["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"mlplat.io/node-group": "system"}
    exists, wait = pod["initContainers"]
    # The RayJob may be created after the gate starts: wait for it to exist first (never exit NotFound).
    assert exists["command"][1:3] == ["wait", f"rayjob/{rayjob['metadata']['name']}"]
    assert "--for=create" in exists["command"]
    assert wait["command"][1:3] == ["wait", f"rayjob/{rayjob['metadata']['name']}"]
    assert "--for=jsonpath={.status.jobStatus}=SUCCEEDED" in wait["command"]
    assert f"--timeout={rayjob['spec']['activeDeadlineSeconds']}s" in wait["command"]
    (start,) = pod["containers"]
    assert start["command"][1:3] == ["patch", f"pytorchjob/{training['metadata']['name']}"]
    assert json.loads(start["command"][-1]) == {"spec": {"runPolicy": {"suspend": False}}}
    role = staging.get("kubernetes:rbac.authorization.k8s.io/v1:Role", "mlplat-staging-job-pythia-fin-gate")
    rules = {r["apiGroups"][0]: r for r in role["inputs"]["rules"]}
    assert rules["ray.io"]["resourceNames"] == [rayjob["metadata"]["name"]]
    assert rules["kubeflow.org"]["resourceNames"] == [training["metadata"]["name"]]
    assert "patch" not in rules["ray.io"]["verbs"] and set(rules["kubeflow.org"]["verbs"]) == {"get", "patch"}
    gate_urn = staging.get("kubernetes:batch/v1:Job", "mlplat-staging-job-pythia-fin-gate")["urn"]
    job_urn = staging.get(PYTORCH_JOB, "mlplat-staging-job-pythia-fin-job")["urn"]
    assert job_urn in staging.by_urn(gate_urn)["dependencies"], "the gate patches a job that exists"
    rayjob_urn = staging.get(RAYJOB, "mlplat-staging-ray-fin-corpus-job")["urn"]
    assert rayjob_urn in staging.by_urn(gate_urn)["dependencies"], "the gate is created after the RayJob"


def test_pulumi_does_not_await_the_gate(staging):
    """pulumi-kubernetes awaits a Job until it completes, 10 minutes by default; the gate runs as long as the
    curation (hours), so `pulumi up` would fail: the provider's skipAwait annotation turns the await off."""
    gate = staging.get("kubernetes:batch/v1:Job", "mlplat-staging-job-pythia-fin-gate")["inputs"]
    assert gate["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    assert gate["spec"]["activeDeadlineSeconds"] > 600


def test_a_job_reading_other_data_starts_at_once():
    """Only a job whose input lies under a RayJob's output of the same stack waits (stacks/platform._upstream)."""
    from stacks.platform import _upstream

    job = {"name": "cpt", "runId": "r1", "nodeGroup": "p5", "workers": 1, "objective": "continued-pretraining",
           "image": "1.dkr.ecr.us-east-1.amazonaws.com/cpt:v1", "tokenShardsUri": "s3://bkt/out/c-r1/tokens/",
           "outputUri": "s3://bkt/models/"}
    cfg = parse(values(config(gpuCluster={**CLUSTER, "operators": {"kuberay": True}}, rayJobs=[RAY],
                              trainingJobs=[job])))
    (job,) = cfg.training_jobs
    assert _upstream(cfg, job, {}).rayjob == cfg.ray_jobs[0].run_name
    elsewhere = job.model_copy(update={"token_shards_uri": "s3://another-bucket/tokens/"})
    assert _upstream(cfg, elsewhere, {}) is None
