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


def _hub_response(model_id: str, document: dict) -> dict:
    """A describe-hub-content answer as botocore shapes it (the Stubber refuses a malformed one)."""
    sagemaker = _client("sagemaker")
    with Stubber(sagemaker) as stub:
        stub.add_response("describe_hub_content", {
            "HubContentName": model_id, "HubContentArn": f"arn:aws:sagemaker:us-east-1:aws:hub-content/x/{model_id}",
            "HubContentVersion": "1.0.3", "HubContentType": "Model", "DocumentSchemaVersion": "2.2.0",
            "HubName": "SageMakerPublicHub", "HubArn": "arn:aws:sagemaker:us-east-1:aws:hub/SageMakerPublicHub",
            "HubContentDocument": json.dumps(document), "HubContentStatus": "Available",
            "CreationTime": "2026-11-01T00:00:00Z"})
        return sagemaker.describe_hub_content(HubName="SageMakerPublicHub", HubContentType="Model",
                                              HubContentName=model_id)


def test_add_pins_a_model_from_a_saved_hub_document(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    data.mkdir()
    (data / "jumpstart_hub.json").write_text((ROOT / "components/catalog/data/jumpstart_hub.json").read_text())
    monkeypatch.setattr(refresh_catalog, "DATA", data)
    monkeypatch.setattr(refresh_catalog, "ROOT", tmp_path)
    bge = load("jumpstart_hub")["models"]["huggingface-sentencesimilarity-bge-large-en"]["document"]
    response = _hub_response("huggingface-sentencesimilarity-bge-small-en", bge)
    saved = tmp_path / "hub.json"
    saved.write_text(json.dumps(response, default=str))
    assert refresh_catalog.main(["--add", "huggingface-sentencesimilarity-bge-small-en", "--document", str(saved)]) == 0
    assert "would pin huggingface-sentencesimilarity-bge-small-en 1.0.3" in capsys.readouterr().out
    assert "bge-small-en" not in (data / "jumpstart_hub.json").read_text()
    assert refresh_catalog.main(["--add", "huggingface-sentencesimilarity-bge-small-en", "--document", str(saved),
                                 "--write"]) == 0
    pinned = json.loads((data / "jumpstart_hub.json").read_text())["models"]
    assert pinned["huggingface-sentencesimilarity-bge-small-en"] == {"version": "1.0.3", "document": bge}


def test_add_refuses_a_document_a_deployment_could_not_use(tmp_path):
    broken = _hub_response("some-model", {"DefaultInferenceInstanceType": "ml.g5.2xlarge"})
    saved = tmp_path / "hub.json"
    saved.write_text(json.dumps(broken, default=str))
    with pytest.raises(SystemExit, match="cannot pin some-model: hub content some-model@1.0.3 lacks HostingEcrUri"):
        refresh_catalog.main(["--add", "some-model", "--document", str(saved)])
    with pytest.raises(SystemExit, match="the document is for some-model, not other-model"):
        refresh_catalog.main(["--add", "other-model", "--document", str(saved)])


def test_lifecycle_from_get_foundation_model_keeps_what_the_api_no_longer_knows():
    """`--lifecycle`: modelLifecycle's dates become the calendar's data; a model the API no longer has (past its end
    of life) keeps its facts, and one without a known end-of-life date is reported."""
    import datetime as dt

    from components.catalog.lifecycle import from_api

    bedrock = _client("bedrock")
    known = {"amazon.nova-lite-v1:0": {"status": "ACTIVE", "legacyTime": None, "publicExtendedAccessTime": None,
                                       "endOfLifeTime": None},
             "amazon.nova-canvas-v1:0": {"status": "LEGACY", "legacyTime": "2026-03-30",
                                         "publicExtendedAccessTime": None, "endOfLifeTime": "2026-09-30"},
             "amazon.titan-text-lite-v1:0:4k": {"status": "LEGACY", "legacyTime": "2025-02-11",
                                                "publicExtendedAccessTime": None, "endOfLifeTime": None}}
    gone = {"message": "not found"}
    with Stubber(bedrock) as stub:
        stub.add_client_error("get_foundation_model", "ResourceNotFoundException", "Model not found", 404,
                              expected_params={"modelIdentifier": "amazon.nova-canvas-v1:0"}, response_meta=gone)
        stub.add_response("get_foundation_model", {"modelDetails": {
            "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
            "modelId": "amazon.nova-lite-v1:0",
            "modelLifecycle": {"status": "LEGACY", "legacyTime": dt.datetime(2027, 3, 1, tzinfo=dt.UTC),
                               "publicExtendedAccessTime": dt.datetime(2027, 6, 1, tzinfo=dt.UTC),
                               "endOfLifeTime": dt.datetime(2027, 9, 1, tzinfo=dt.UTC)}}},
            {"modelIdentifier": "amazon.nova-lite-v1:0"})
        stub.add_client_error("get_foundation_model", "ResourceNotFoundException", "Model not found", 404,
                              expected_params={"modelIdentifier": "amazon.titan-text-lite-v1:0:4k"})
        facts, notes = refresh_catalog.lifecycle_facts(bedrock, list(known), known)
    assert facts["amazon.nova-lite-v1:0"] == {"status": "LEGACY", "legacyTime": "2027-03-01",
                                              "publicExtendedAccessTime": "2027-06-01", "endOfLifeTime": "2027-09-01"}
    assert facts["amazon.nova-canvas-v1:0"] == known["amazon.nova-canvas-v1:0"]
    assert notes == ["amazon.titan-text-lite-v1:0:4k: not found and no end-of-life date known: check the lifecycle "
                     "page and set endOfLifeTime"]
    # What the calendar then says of Nova Lite on either side of the new dates.
    lite = from_api("amazon.nova-lite-v1:0", facts["amazon.nova-lite-v1:0"], "Nova Lite", None)
    assert [lite.status(dt.date(*d)) for d in ((2027, 2, 28), (2027, 3, 1), (2027, 9, 1))] == \
        ["Active", "Legacy", "EOL"]
    undated = from_api("m", {"status": "LEGACY"}, "M", None)
    assert undated.status(dt.date(2000, 1, 1)) == "Legacy"


def test_every_model_the_calendar_names_has_facts_and_the_plan_reports_their_age():
    from components.catalog.lifecycle import CHECKED, MODELS, NAMES
    from mlplat.plan import catalog_age

    assert set(MODELS) == set(NAMES) <= set(load("bedrock_lifecycle")["models"])
    age = {row["facts"]: row for row in catalog_age(CHECKED)}
    assert age["bedrock_lifecycle"] == {"facts": "bedrock_lifecycle", "checked": CHECKED.isoformat(), "daysOld": 0}
