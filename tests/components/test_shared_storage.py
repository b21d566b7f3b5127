"""FSx for Lustre for the training pods (gpuCluster.sharedStorage): where it lives, who reaches it, how pods mount
it, and the continued pre-training job checkpointing to it."""

from __future__ import annotations

import re

import pytest

from stacks.config import parse
from stacks.errors import ConfigError
from tests.helpers import CLUSTER, ROOT, config, values

FS = "aws:fsx/lustreFileSystem:LustreFileSystem"


@pytest.fixture(scope="module")
def staging(envs):
    return envs["staging"]


def test_file_system_in_the_gpu_nodes_az_encrypted_and_reachable_only_from_the_nodes(staging):
    (fs,) = staging.of_type(FS)
    inputs = fs["inputs"]
    assert inputs["deploymentType"] == "PERSISTENT_2" and inputs["storageCapacity"] == 1200
    key = staging.get("aws:kms/key:Key", "mlplat-staging-data-key")
    assert inputs["kmsKeyId"] == key["outputs"]["arn"]
    subnet_id = inputs["subnetIds"]  # one subnet (pulumi-aws types it as a string: one AZ)
    # The GPU nodes come from a Karpenter pool pinned to one AZ; the file system sits in that AZ's subnet.
    pool = staging.get("kubernetes:karpenter.sh/v1:NodePool", "mlplat-staging-karpenter-p4de-pool")["inputs"]
    (zone,) = next(r["values"] for r in pool["spec"]["template"]["spec"]["requirements"]
                   if r["key"] == "topology.kubernetes.io/zone")
    assert staging.get("aws:ec2/subnet:Subnet", f"mlplat-staging-private-{zone}")["id"] == subnet_id
    rules = [r["inputs"] for r in staging.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if r["name"].startswith("mlplat-staging-shared-fsx-")]
    cluster = staging.of_type("aws:eks/cluster:Cluster")[0]
    nodes_sg = cluster["outputs"]["vpcConfig"]["clusterSecurityGroupId"]
    ports = {(r["fromPort"], r["toPort"]) for r in rules if r["referencedSecurityGroupId"] == nodes_sg}
    assert ports == {(988, 988), (1018, 1023)}
    assert not any("cidrIpv4" in r for r in rules), "no address range, only the nodes and the file system itself"


def test_pods_mount_it_and_continued_pretraining_checkpoints_to_it(staging):
    (fs,) = staging.of_type(FS)
    pv = staging.get("kubernetes:core/v1:PersistentVolume", "mlplat-staging-shared-pv")["inputs"]
    assert pv["spec"]["csi"] == {"driver": "fsx.csi.aws.com", "volumeHandle": fs["id"], "volumeAttributes": {
        "dnsname": fs["outputs"]["dnsName"], "mountname": fs["outputs"]["mountName"]}}
    pvc = staging.get("kubernetes:core/v1:PersistentVolumeClaim", "mlplat-staging-shared-pvc")["inputs"]
    assert pvc["spec"]["volumeName"] == pv["metadata"]["name"] and pvc["spec"]["storageClassName"] == ""
    job = staging.get("kubernetes:kubeflow.org/v1:PyTorchJob", "mlplat-staging-job-pythia-fin-job")["inputs"]
    pod = job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]
    assert {"name": "shared", "persistentVolumeClaim": {"claimName": pvc["metadata"]["name"]}} in pod["volumes"]
    assert pvc["metadata"]["namespace"] == job["metadata"]["namespace"]
    container = pod["containers"][0]
    assert {"name": "shared", "mountPath": "/fsx"} in container["volumeMounts"]
    assert f"--checkpoint-dir /fsx/checkpoints/{job['metadata']['name']}/" in container["command"][2]
    script = (ROOT / "components/training_job/scripts/continued_pretraining.py").read_text()
    assert re.search(r'add_argument\("--checkpoint-dir"', script), "the flag the job passes exists in the script"


def test_shared_storage_needs_the_fsx_csi_driver_and_a_valid_size():
    operators = {**CLUSTER.get("operators", {}), "fsxCsi": False}
    cfg = config(gpuCluster=dict(CLUSTER, sharedStorage={"enabled": True}, operators=operators))
    with pytest.raises(ConfigError) as info:
        parse(values(cfg))
    assert any(line.startswith("ml-platform:gpuCluster.sharedStorage: FSx for Lustre is mounted through the FSx CSI")
               for line in info.value.problems)
    with pytest.raises(ConfigError) as info:
        parse(values(config(gpuCluster=dict(CLUSTER, sharedStorage={"enabled": True, "storageCapacityGiB": 1300}))))
    assert "expected 1200 or a multiple of 2400 GiB" in " ".join(info.value.problems)


@pytest.mark.parametrize("path", ["s3://my-bucket/training", "s3://My-Bucket/training/", "my-bucket/training/",
                                  "s3://my-bucket/two words/"])
def test_data_repository_path_must_be_an_s3_prefix(path):
    shared = {"enabled": True, "dataRepositoryPath": path}
    with pytest.raises(ConfigError) as info:
        parse(values(config(gpuCluster=dict(CLUSTER, sharedStorage=shared))))
    assert any("sharedStorage.dataRepositoryPath" in line and "expected an S3 prefix ending in /" in line
               for line in info.value.problems), info.value.problems
    shared["dataRepositoryPath"] = "s3://my-bucket/training/"
    assert parse(values(config(gpuCluster=dict(CLUSTER, sharedStorage=shared))))
