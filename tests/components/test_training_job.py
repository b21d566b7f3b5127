"""FSDP PyTorchJob: device requests from the catalog, secrets kept out, a golden rendering."""

from __future__ import annotations

import json
import os

import pytest

from components.eks_gpu_cluster.args import GpuNodeGroupArgs
from components.training_job.args import TrainingJobArgs
from components.training_job.render import render_pytorchjob
from policies.rules.gpu import PYTORCHJOB_RESOURCES
from tests.helpers import CLUSTER, P4DE, P5, ROOT, config, plan_config
from tests.policies.helpers import check_resource

GOLDEN = ROOT / "tests" / "components" / "golden" / "pytorchjob_p5x2.json"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fsdp:llama2"
ETCD = {"etcd_host": "etcd", "etcd_port": 2379}


def _group(raw: dict) -> GpuNodeGroupArgs:
    return GpuNodeGroupArgs.model_validate(raw)


def test_golden_pytorchjob_p5_two_workers():
    job = TrainingJobArgs(name="llama2-7b-fsdp", run_id="r1", node_group="p5", workers=2, image=IMAGE)
    rendered = render_pytorchjob(job, _group(P5), namespace="training", hf_secret_name="llama2-7b-fsdp-hf-token",
                                 **ETCD)
    text = json.dumps(rendered, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text(), "rendering changed; review, then rerun with UPDATE_GOLDEN=1"


@pytest.mark.parametrize("raw,gpus,efa", [(P5, "8", "32"), (P4DE, "8", "4")])
def test_requests_equal_limits_equal_the_node(raw, gpus, efa):
    job = TrainingJobArgs(name="j", run_id="r1", node_group=raw["name"], workers=2, image=IMAGE)
    rendered = render_pytorchjob(job, _group(raw), namespace="training", **ETCD)
    container = rendered["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]
    requests, limits = container["resources"]["requests"], container["resources"]["limits"]
    devices = {"nvidia.com/gpu": gpus, "vpc.amazonaws.com/efa": efa}
    # EFA pods request huge pages (equal to their limit) together with memory (EKS user guide, node-efa).
    assert requests == {**devices, "hugepages-2Mi": "5120Mi", "memory": "32000Mi"}
    assert limits == {**devices, "hugepages-2Mi": "5120Mi"}, "memory is requested, not capped"
    assert f"--nproc_per_node={gpus} --nnodes=2" in container["command"][2]
    assert check_resource(PYTORCHJOB_RESOURCES, "kubernetes:kubeflow.org/v1:PyTorchJob", rendered) == []
    names = {e["name"] for e in container["env"]}
    assert {"NCCL_DEBUG", "NCCL_SOCKET_IFNAME", "TORCH_NCCL_ASYNC_ERROR_HANDLING"} <= names
    assert not any(n.startswith("FI_") for n in names)


def test_an_elastic_job_lets_the_operators_node_range_apply():
    """The operator sets PET_NNODES=min:max; an explicit --nnodes would override it and pin the size."""
    elastic = TrainingJobArgs(name="j", run_id="r1", node_group="p5", workers=2, image=IMAGE,
                              elastic={"minReplicas": 1, "maxReplicas": 4})
    rendered = render_pytorchjob(elastic, _group(dict(P5, maxSize=4)), namespace="t", **ETCD)
    command = rendered["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["command"][2]
    assert "--nnodes" not in command and command.startswith("torchrun --nproc_per_node=8 examples/finetuning.py")
    policy = rendered["spec"]["elasticPolicy"]
    assert (policy["minReplicas"], policy["maxReplicas"]) == (1, 4)


def test_c10d_rendezvous_has_no_etcd_host():
    job = TrainingJobArgs(name="j", run_id="r1", node_group="p5", workers=2, image=IMAGE, rendezvous="c10d")
    elastic = render_pytorchjob(job, _group(P5), namespace="t", **ETCD)["spec"]["elasticPolicy"]
    assert elastic == {"rdzvBackend": "c10d", "minReplicas": 2, "maxReplicas": 2, "maxRestarts": 100}


def test_hf_token_lives_only_in_a_secret(tmp_path):
    job = {"name": "llama", "runId": "r1", "nodeGroup": "p5", "workers": 2, "image": IMAGE,
           "hfToken": {"secure": "v1:hf-ciphertext"}}
    view = plan_config(tmp_path, config(gpuCluster=CLUSTER, trainingJobs=[job]))
    secret = view.get("kubernetes:core/v1:Secret", "mlplat-dev-job-llama-hf-token")
    assert secret["inputs"]["stringData"] == "[secret]"
    (pj,) = view.of_type("kubernetes:kubeflow.org/v1:PyTorchJob")
    env = pj["inputs"]["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["env"]
    token_env = next(e for e in env if e["name"] == "HF_TOKEN")
    assert token_env == {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "llama-hf-token", "key": "token"}}}
    assert secret["urn"] in pj["dependencies"]
    # Depending on the operator's component: the engine waits for every object it holds (the SDK sends them all).
    (operator,) = view.of_type("mlplat:cluster_operators:TrainingOperator")
    needed = {r["urn"] for r in view.children(operator) if r["type"].rsplit(":", 1)[-1] in (
        "CustomResourceDefinition", "Deployment", "ValidatingWebhookConfiguration")}
    assert len(needed) == 3 and needed <= set(pj["dependencies"]), "the CRD and the operator's webhook first"
    assert "hf-ciphertext" not in view.text() and "offline-secret-" not in view.text()


def test_each_run_has_its_own_job_and_rendezvous_id():
    """torchrun's default rendezvous id `none` collides across jobs and for 2 h after a run on etcd."""
    first = TrainingJobArgs(name="llama", run_id="r1", node_group="p5", workers=2, image=IMAGE)
    second = first.model_copy(update={"run_id": "r2"})
    bodies = [render_pytorchjob(j, _group(P5), namespace="t", **ETCD) for j in (first, second)]
    ids = [b["spec"]["elasticPolicy"]["rdzvId"] for b in bodies]
    assert ids == ["llama-r1", "llama-r2"]
    assert [b["metadata"]["name"] for b in bodies] == ids


@pytest.mark.parametrize("name", ["7b-llama", "-llama", "Llama"])
def test_job_names_are_dns_1035_labels(name):
    with pytest.raises(ValueError, match="name"):
        TrainingJobArgs(name=name, run_id="r1", node_group="p5", workers=2, image=IMAGE)


def test_everything_in_the_training_namespace_waits_for_the_namespace(tmp_path):
    job = {"name": "llama", "runId": "r1", "nodeGroup": "p5", "workers": 2, "image": IMAGE,
           "hfToken": {"secure": "v1:hf-ciphertext"}}
    cluster = dict(CLUSTER, operators={"debugTools": True})
    view = plan_config(tmp_path, config(gpuCluster=cluster, trainingJobs=[job]))
    namespace = view.get("kubernetes:core/v1:Namespace", "mlplat-dev-ops-training")
    in_namespace = [r for r in view.resources if r["custom"] and r["type"].startswith("kubernetes:")
                    and isinstance(r["inputs"].get("metadata"), dict)
                    and r["inputs"]["metadata"].get("namespace") == "training"]
    assert {r["type"] for r in in_namespace} >= {"kubernetes:kubeflow.org/v1:PyTorchJob", "kubernetes:core/v1:Secret",
                                                 "kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:DaemonSet"}
    for r in in_namespace:
        assert namespace["urn"] in r["dependencies"], r["urn"]


def test_nccl_preflight_is_ready_suspended_on_whole_efa_nodes(envs):
    """Prod's p5 group gets a suspended NCCL all-reduce job: two whole nodes (every GPU and EFA device, huge pages),
    its script from the repository, nothing running (and nothing billed) until it is started."""
    prod = envs["prod"]
    job = prod.get("kubernetes:kubeflow.org/v1:PyTorchJob", "mlplat-prod-preflight-p5-job")["inputs"]
    # A short job: it fails after one retry or an hour, and frees both nodes.
    assert job["spec"]["runPolicy"] == {"suspend": True, "backoffLimit": 1, "activeDeadlineSeconds": 3600}
    worker = job["spec"]["pytorchReplicaSpecs"]["Worker"]
    assert worker["replicas"] == 2
    pod = worker["template"]["spec"]
    assert pod["nodeSelector"]["mlplat.io/node-group"] == "p5"
    limits = pod["containers"][0]["resources"]["limits"]
    assert limits == {"nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "32", "hugepages-2Mi": "5120Mi"}
    assert pod["containers"][0]["command"][2] == "torchrun --nproc_per_node=8 --nnodes=2 /opt/mlplat/nccl_preflight.py"
    script = prod.get("kubernetes:core/v1:ConfigMap", "mlplat-prod-preflight-p5-script")["inputs"]
    source = ROOT / "components/training_job/scripts/nccl_preflight.py"
    assert script["data"] == {"nccl_preflight.py": source.read_text()}
    assert check_resource(PYTORCHJOB_RESOURCES, "kubernetes:kubeflow.org/v1:PyTorchJob", job) == []


def test_preflight_needs_an_efa_group():
    from stacks.config import parse
    from stacks.errors import ConfigError
    from tests.helpers import values

    g5 = {"name": "small", "instanceType": "g5.xlarge", "availabilityZone": "us-east-1a", "maxSize": 1,
          "preflightImage": IMAGE}
    with pytest.raises(ConfigError) as info:
        parse(values(config(gpuCluster=dict(CLUSTER, nodeGroups=[g5]))))
    assert any("preflightImage: the NCCL preflight measures EFA" in line for line in info.value.problems)


def test_a_failing_job_ends_and_karpenter_never_disrupts_a_running_one(tmp_path):
    """training-operator fails a job only past runPolicy.backoffLimit or activeDeadlineSeconds (both set, from the
    stack file); the pods carry karpenter.sh/do-not-disrupt, so drift or expiry never replaces one of its nodes."""
    job = {"name": "llama", "runId": "r1", "nodeGroup": "p5", "workers": 2, "image": IMAGE, "backoffLimit": 5,
           "activeDeadlineSeconds": 7200}
    view = plan_config(tmp_path, config(gpuCluster=CLUSTER, trainingJobs=[job]))
    (pj,) = view.of_type("kubernetes:kubeflow.org/v1:PyTorchJob")
    assert pj["inputs"]["spec"]["runPolicy"] == {"backoffLimit": 5, "activeDeadlineSeconds": 7200}
    template = pj["inputs"]["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]
    assert template["metadata"]["annotations"] == {"karpenter.sh/do-not-disrupt": "true"}
