"""`scripts/refresh_catalog.py` against botocore Stubbers: the AWS answers become the catalog's data files."""

from __future__ import annotations

import importlib.util
import json

import boto3
import pytest
from botocore.stub import Stubber

from components.catalog.data import load
from tests.helpers import ROOT

spec = importlib.util.spec_from_file_location("refresh_catalog", ROOT / "scripts" / "refresh_catalog.py")
refresh_catalog = importlib.util.module_from_spec(spec)
spec.loader.exec_module(refresh_catalog)


def _client(service: str):
    return boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_instance_facts_from_describe_instance_types():
    ec2 = _client("ec2")
    with Stubber(ec2) as stub:
        stub.add_response("describe_instance_types", {"InstanceTypes": [
            {"InstanceType": "p5.48xlarge", "VCpuInfo": {"DefaultVCpus": 192}, "MemoryInfo": {"SizeInMiB": 2097152},
             "GpuInfo": {"Gpus": [{"Name": "H100", "Manufacturer": "NVIDIA", "Count": 8,
                                   "MemoryInfo": {"SizeInMiB": 81920}}]},
             "NetworkInfo": {"EfaSupported": True, "MaximumNetworkCards": 32, "EfaInfo": {"MaximumEfaInterfaces": 32}},
             "InstanceStorageInfo": {"Disks": [{"SizeInGB": 3800, "Count": 8, "Type": "ssd"}]}},
            {"InstanceType": "trn1.32xlarge", "VCpuInfo": {"DefaultVCpus": 128}, "MemoryInfo": {"SizeInMiB": 524288},
             "NeuronInfo": {"NeuronDevices": [{"Name": "Trainium", "Count": 16, "MemoryInfo": {"SizeInMiB": 32768}}]},
             "NetworkInfo": {"EfaSupported": True, "MaximumNetworkCards": 8, "EfaInfo": {"MaximumEfaInterfaces": 8}},
             "InstanceStorageInfo": {"Disks": [{"SizeInGB": 1900, "Count": 4, "Type": "ssd"}]}},
        ]}, {"InstanceTypes": ["p5.48xlarge", "trn1.32xlarge"]})
        facts = refresh_catalog.instance_facts(ec2, ["trn1.32xlarge", "p5.48xlarge"])
    assert facts["p5.48xlarge"] == {"accelerator": "nvidia", "acceleratorModel": "H100", "accelerators": 8,
                                    "acceleratorMemoryGiB": 640, "vcpus": 192, "memoryGiB": 2048,
                                    "maxEfaInterfaces": 32, "networkCards": 32, "nvmeDisks": 8, "nvmeDiskGB": 3800}
    assert facts["trn1.32xlarge"]["accelerator"] == "neuron" and facts["trn1.32xlarge"]["accelerators"] == 16
    assert set(facts["p5.48xlarge"]) == set(load("instance_types")["types"]["p5.48xlarge"])


def test_addon_defaults_pick_the_version_eks_marks_default():
    eks = _client("eks")
    with Stubber(eks) as stub:
        stub.add_response("describe_addon_versions", {"addons": [{"addonName": "vpc-cni", "addonVersions": [
            {"addonVersion": "v1.20.4-eksbuild.1", "compatibilities": [{"clusterVersion": "1.33",
                                                                        "defaultVersion": False}]},
            {"addonVersion": "v1.19.5-eksbuild.3", "compatibilities": [{"clusterVersion": "1.33",
                                                                        "defaultVersion": True}]},
        ]}]}, {"kubernetesVersion": "1.33", "addonName": "vpc-cni"})
        assert refresh_catalog.addon_defaults(eks, ["1.33"], ["vpc-cni"]) == {"1.33": {"vpc-cni": "v1.19.5-eksbuild.3"}}
    with Stubber(eks) as stub:
        stub.add_response("describe_addon_versions", {"addons": []}, {"kubernetesVersion": "1.33",
                                                                      "addonName": "vpc-cni"})
        with pytest.raises(SystemExit, match="no default vpc-cni version"):
            refresh_catalog.addon_defaults(eks, ["1.33"], ["vpc-cni"])


def test_hub_documents_at_the_pinned_version():
    sm = _client("sagemaker")
    document = load("jumpstart_hub")["models"]["huggingface-llm-mixtral-8x7b-instruct"]["document"]
    with Stubber(sm) as stub:
        stub.add_response("describe_hub_content", {
            "HubContentName": "huggingface-llm-mixtral-8x7b-instruct", "HubContentArn": "arn:aws:sagemaker:x",
            "HubContentVersion": "1.3.2", "HubContentType": "Model", "DocumentSchemaVersion": "2.0.0",
            "HubName": "SageMakerPublicHub", "HubArn": "arn:aws:sagemaker:y", "HubContentStatus": "Available",
            "CreationTime": "2024-01-01T00:00:00Z", "HubContentDocument": json.dumps(document)},
            {"HubName": "SageMakerPublicHub", "HubContentType": "Model",
             "HubContentName": "huggingface-llm-mixtral-8x7b-instruct", "HubContentVersion": "1.3.2"})
        out = refresh_catalog.hub_documents(sm, {"huggingface-llm-mixtral-8x7b-instruct": "1.3.2"})
    assert out == {"huggingface-llm-mixtral-8x7b-instruct": {"version": "1.3.2", "document": document}}
