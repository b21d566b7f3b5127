"""`explicit-providers`: no aws, aws-native or kubernetes resource falls back to the engine's default provider (the
default aws-native provider needs `aws-native:region`, pulumi-aws-native #1646, and none carries the stack's tags)."""

from __future__ import annotations

import json

from policies.offline import evaluate
from tests.helpers import config, plan_config

MIXTRAL, BGE = "huggingface-llm-mixtral-8x7b-instruct", "huggingface-sentencesimilarity-bge-large-en"


def test_shared_endpoints_alone_get_the_explicit_aws_native_provider(tmp_path):
    """No live chat and no scale-to-zero endpoint of its own: the shared endpoint's EndpointConfig and inference
    components are still aws-native, and go through the stack's provider."""
    view = plan_config(tmp_path, config(sharedEndpoints=[{"name": "pair", "instanceType": "ml.g5.4xlarge"}],
                                        endpoints=[{"name": "bge", "modelId": BGE, "sharedEndpoint": "pair"}]))
    native = [r for r in view.resources if r["type"].startswith("aws-native:")]
    assert {r["type"] for r in native} >= {"aws-native:sagemaker:EndpointConfig",
                                           "aws-native:sagemaker:InferenceComponent"}
    (provider,) = view.of_type("pulumi:providers:aws-native")
    assert {r["provider"].rsplit("::", 1)[0] for r in native} == {provider["urn"]}
    assert provider["inputs"]["region"] == "us-east-1"
    assert json.loads(provider["inputs"]["defaultTags"])["tags"]["environment"] == "dev"
    assert [v for v in evaluate(view.resources) if v["policy"] == "explicit-providers"] == []


def _resource(typ: str, provider: str | None = None, custom: bool = True) -> dict:
    return {"urn": f"urn:pulumi:dev::ml-platform::{typ}::r", "type": typ, "name": "r", "custom": custom,
            "parent": None, "provider": provider, "inputs": {}, "outputs": {}, "dependencies": []}


def test_each_package_falling_back_to_its_default_provider_is_refused_once():
    explicit = "urn:pulumi:dev::ml-platform::pulumi:providers:aws::aws::id"
    resources = [
        _resource("pulumi:providers:aws"),                              # a provider itself: no provider
        _resource("aws:s3/bucket:Bucket", provider=explicit),           # explicit: fine
        _resource("aws-native:sagemaker:EndpointConfig"),               # default aws-native: refused
        _resource("kubernetes:batch/v1:Job"),                           # default kubernetes: refused
        _resource("aws:sqs/queue:Queue"),                               # default aws: refused
        _resource("pulumi-python:dynamic:Resource"),                    # dynamic resources use pulumi-python's
        _resource("mlplat:eks:GpuCluster", custom=False),               # a component has no provider
    ]
    resources[1]["urn"] = "urn:pulumi:dev::ml-platform::aws:s3/bucket:Bucket::b"
    resources.insert(0, {**_resource("pulumi:providers:aws"), "urn": explicit.rsplit("::", 1)[0], "name": "aws"})
    found = [v for v in evaluate(resources) if v["policy"] == "explicit-providers"]
    assert sorted(v["urn"].split("::")[2] for v in found) == [
        "aws-native:sagemaker:EndpointConfig", "aws:sqs/queue:Queue", "kubernetes:batch/v1:Job"]
    assert all(v["enforcementLevel"] == "mandatory" and "default" in v["message"] for v in found)


def test_a_look_up_without_a_provider_is_refused_and_one_through_the_stacks_provider_is_not(tmp_path):
    """Invokes reach the default provider too: the pack never sees them, so the plan judges them."""
    import pulumi
    import pulumi_aws as aws

    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1")
        aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
        aws.get_partition_output()

    view = plan_config(tmp_path, config(), program=program)
    found = [v for v in view.plan["policy"]["violations"] if v["policy"] == "explicit-providers"]
    assert [v["message"].split(" goes to")[0] for v in found] == ["the look-up aws:index/getPartition:getPartition"]
