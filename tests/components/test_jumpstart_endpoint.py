"""JumpStart endpoints per model: container, isolation, KMS, autoscaling, Marketplace path, API shapes."""

from __future__ import annotations

import json

import pytest

from components.catalog.jumpstart import PINNED, resolve_live, spec_from_hub_document
from tests.botocore_shapes import enum_values, validate
from tests.helpers import config, plan_config

SOLAR_ARN = "arn:aws:sagemaker:us-east-1:865070037744:model-package/upstage-solar-mini-chat-quant-v1"
ENDPOINTS = [
    {"name": "mixtral", "modelId": "huggingface-llm-mixtral-8x7b-instruct",
     "autoscaling": {"minCapacity": 1, "maxCapacity": 3, "targetInvocationsPerInstance": 20},
     "dataCapture": {"enabled": True}},
    {"name": "bge", "modelId": "huggingface-sentencesimilarity-bge-large-en"},
    {"name": "solar", "modelId": "upstage-solar-mini-chat-quant", "modelPackageArn": SOLAR_ARN},
]


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    return plan_config(tmp_path_factory.mktemp("ep"), config(endpoints=ENDPOINTS))


def _get(view, typ, name):
    return view.get(f"aws:sagemaker/{typ}", name)


def test_mixtral_container_env_follows_gpus(view):
    model = _get(view, "model:Model", "mlplat-dev-mixtral-model")["inputs"]
    container = model["primaryContainer"]
    assert container["image"] == ("763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
                                  "2.1.1-tgi1.4.0-gpu-py310-cu121-ubuntu20.04")
    assert container["environment"]["SM_NUM_GPUS"] == "8"
    assert container["environment"]["MAX_INPUT_LENGTH"] == "32785"
    assert all(isinstance(v, str) for v in container["environment"].values())
    source = container["modelDataSource"]["s3DataSources"][0]
    assert source == {"s3Uri": "s3://jumpstart-cache-prod-us-east-1/huggingface-llm/huggingface-llm-mixtral-8x7b-"
                               "instruct/artifacts/inference-prepack/v1.0.0/",
                      "s3DataType": "S3Prefix", "compressionType": "None"}
    assert model["enableNetworkIsolation"] is True
    assert len(model["vpcConfig"]["subnets"]) == 2


def test_bge_uses_the_specs_prepacked_artifact_and_default_instance(view):
    container = _get(view, "model:Model", "mlplat-dev-bge-model")["inputs"]["primaryContainer"]
    source = container["modelDataSource"]["s3DataSources"][0]
    assert source["s3Uri"] == ("s3://jumpstart-cache-prod-us-east-1/huggingface-sentencesimilarity/huggingface-"
                               "sentencesimilarity-bge-large-en/artifacts/inference-prepack/v1.0.2/")
    assert "SM_NUM_GPUS" not in container["environment"]
    variant = _get(view, "endpointConfiguration:EndpointConfiguration",
                   "mlplat-dev-bge-config")["inputs"]["productionVariants"][0]
    assert variant["instanceType"] == PINNED["huggingface-sentencesimilarity-bge-large-en"].default_instance_type
    assert "volumeSizeInGb" not in variant, "NVMe instances reject VolumeSizeInGB"


def test_marketplace_model_package_without_environment(view):
    model = _get(view, "model:Model", "mlplat-dev-solar-model")["inputs"]
    assert model["primaryContainer"] == {"modelPackageName": SOLAR_ARN}
    assert model["enableNetworkIsolation"] is True
    variant = _get(view, "endpointConfiguration:EndpointConfiguration",
                   "mlplat-dev-solar-config")["inputs"]["productionVariants"][0]
    assert variant["instanceType"] == "ml.g5.2xlarge"


def test_endpoint_config_kms_timeouts_and_capture(view):
    key = view.get("aws:kms/key:Key", "mlplat-dev-data-key")["outputs"]["arn"]
    cfg = _get(view, "endpointConfiguration:EndpointConfiguration", "mlplat-dev-mixtral-config")["inputs"]
    assert cfg["kmsKeyArn"] == key
    variant = cfg["productionVariants"][0]
    assert variant["variantName"] == "AllTraffic"
    assert variant["containerStartupHealthCheckTimeoutInSeconds"] == 3600
    assert variant["modelDataDownloadTimeoutInSeconds"] == 3600
    capture = cfg["dataCaptureConfig"]
    bucket = view.get("aws:s3/bucket:Bucket", "mlplat-dev-inference-capture")["outputs"]["bucket"]
    assert capture["destinationS3Uri"] == f"s3://{bucket}/mlplat-dev-mixtral"
    assert capture["kmsKeyId"] == key
    assert "dataCaptureConfig" not in _get(view, "endpointConfiguration:EndpointConfiguration",
                                           "mlplat-dev-bge-config")["inputs"]


def test_autoscaling_target_and_policy(view):
    endpoint = _get(view, "endpoint:Endpoint", "mlplat-dev-mixtral-endpoint")
    target = view.get("aws:appautoscaling/target:Target", "mlplat-dev-mixtral-scaling")["inputs"]
    assert target["resourceId"] == f"endpoint/{endpoint['outputs']['name']}/variant/AllTraffic"
    assert target["scalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 3)
    policy = view.get("aws:appautoscaling/policy:Policy", "mlplat-dev-mixtral-invocations")["inputs"]
    tracking = policy["targetTrackingScalingPolicyConfiguration"]
    assert tracking["predefinedMetricSpecification"] == {
        "predefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    assert tracking["targetValue"] == 20
    assert len(view.of_type("aws:appautoscaling/target:Target")) == 1


def test_execution_role_is_least_privilege(view):
    role = view.get("aws:iam/role:Role", "mlplat-dev-mixtral-role")
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    policy = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-mixtral-role")["inputs"]["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ModelArtifacts"]["Resource"] == (
        "arn:aws:s3:::jumpstart-cache-prod-us-east-1/huggingface-llm/huggingface-llm-mixtral-8x7b-instruct/"
        "artifacts/inference-prepack/v1.0.0/*")
    assert by_sid["EcrPull"]["Resource"] == (
        "arn:aws:ecr:us-east-1:763104351884:repository/huggingface-pytorch-tgi-inference")
    assert by_sid["Kms"]["Resource"] == view.get("aws:kms/key:Key", "mlplat-dev-data-key")["outputs"]["arn"]
    assert by_sid["DataCapture"]["Action"] == ["s3:PutObject"]
    solar = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-solar-role")["inputs"]["policy"])
    assert not {s["Sid"] for s in solar["Statement"]} & {"EcrPull", "ModelArtifacts", "DataCapture"}


def _create_model_params(model: dict) -> dict:
    inputs = model["inputs"]
    container = inputs["primaryContainer"]
    api: dict = {}
    if "image" in container:
        api["Image"] = container["image"]
        api["Environment"] = container["environment"]
    if "modelDataUrl" in container:
        api["ModelDataUrl"] = container["modelDataUrl"]
    if "modelDataSource" in container:
        s3 = container["modelDataSource"]["s3DataSources"][0]
        api["ModelDataSource"] = {"S3DataSource": {"S3Uri": s3["s3Uri"], "S3DataType": s3["s3DataType"],
                                                   "CompressionType": s3["compressionType"]}}
    if "modelPackageName" in container:
        api["ModelPackageName"] = container["modelPackageName"]
    return {"ModelName": model["outputs"]["name"], "ExecutionRoleArn": inputs["executionRoleArn"],
            "PrimaryContainer": api, "EnableNetworkIsolation": inputs["enableNetworkIsolation"],
            "VpcConfig": {"Subnets": inputs["vpcConfig"]["subnets"],
                          "SecurityGroupIds": inputs["vpcConfig"]["securityGroupIds"]}}


def _create_endpoint_config_params(cfg: dict) -> dict:
    inputs = cfg["inputs"]
    optional = {"ContainerStartupHealthCheckTimeoutInSeconds": "containerStartupHealthCheckTimeoutInSeconds",
                "ModelDataDownloadTimeoutInSeconds": "modelDataDownloadTimeoutInSeconds",
                "VolumeSizeInGB": "volumeSizeInGb"}
    variants = [{
        "VariantName": v["variantName"], "ModelName": v["modelName"], "InstanceType": v["instanceType"],
        "InitialInstanceCount": v["initialInstanceCount"],
        **{api: v[key] for api, key in optional.items() if key in v},
    } for v in inputs["productionVariants"]]
    params = {"EndpointConfigName": cfg["outputs"]["name"], "ProductionVariants": variants,
              "KmsKeyId": inputs["kmsKeyArn"]}
    if "dataCaptureConfig" in inputs:
        dc = inputs["dataCaptureConfig"]
        params["DataCaptureConfig"] = {
            "EnableCapture": dc["enableCapture"], "InitialSamplingPercentage": dc["initialSamplingPercentage"],
            "DestinationS3Uri": dc["destinationS3Uri"], "KmsKeyId": dc["kmsKeyId"],
            "CaptureOptions": [{"CaptureMode": o["captureMode"]} for o in dc["captureOptions"]]}
    return params


def test_generated_inputs_match_the_sagemaker_api(view):
    for model in view.of_type("aws:sagemaker/model:Model"):
        assert validate("sagemaker", "CreateModel", _create_model_params(model)) == [], model["urn"]
    for cfg in view.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration"):
        assert validate("sagemaker", "CreateEndpointConfig", _create_endpoint_config_params(cfg)) == [], cfg["urn"]


def test_every_pinned_instance_type_is_a_valid_sagemaker_instance_type():
    valid = set(enum_values("sagemaker", "ProductionVariantInstanceType"))
    for spec in PINNED.values():
        assert set(spec.supported_instance_types) <= valid, spec.model_id
        assert spec.default_instance_type in spec.supported_instance_types


def test_broken_params_are_caught_by_the_shape_check():
    errors = validate("sagemaker", "CreateEndpointConfig", {"EndpointConfigName": "x", "ProductionVariants": [
        {"VariantName": "AllTraffic", "InstanceType": "ml.g9.huge", "InitialInstanceCount": "one"}]})
    assert any("ml.g9.huge" in e for e in errors) and any("InitialInstanceCount" in e for e in errors)


class _FakeSageMaker:
    def __init__(self, doc: dict) -> None:
        self.doc, self.calls = doc, 0

    def describe_hub_content(self, **kwargs):
        self.calls += 1
        assert kwargs["HubName"] == "SageMakerPublicHub" and kwargs["HubContentType"] == "Model"
        return {"HubContentVersion": kwargs.get("HubContentVersion", "2.0.0"),
                "HubContentDocument": json.dumps(self.doc)}


#: A HubContentDocument shaped like the ones sagemaker-python-sdk parses (jumpstart/hub/interfaces.py
#: HubModelDocument; environment variables as jumpstart/types.py JumpStartEnvironmentVariable.from_json reads
#: them: Name, Type, Default, Scope, RequiredForModelClass), modelled on the SDK's gemma-2b-instruct fixture.
GATED_DOC = {
    "Url": "https://huggingface.co/google/gemma-2b-it", "MinSdkVersion": "2.189.0", "TrainingSupported": False,
    "HostingEcrUri": "763104351884.dkr.ecr.us-west-2.amazonaws.com/huggingface-pytorch-tgi-inference:"
                     "2.1.1-tgi1.4.2-gpu-py310-cu121-ubuntu22.04",
    "HostingArtifactUri": "s3://jumpstart-private-cache-prod-us-west-2/huggingface-llm/huggingface-llm-gemma-2b-"
                          "instruct/artifacts/inference/v1.0.0/",
    "HostingPrepackedArtifactUri": "s3://jumpstart-private-cache-prod-us-west-2/huggingface-llm/huggingface-llm-"
                                   "gemma-2b-instruct/artifacts/inference-prepack/v1.0.0/",
    "HostingPrepackedArtifactVersion": "1.0.0", "HostingUseScriptUri": False, "GatedBucket": True,
    "HostingEulaUri": "s3://jumpstart-cache-prod-us-west-2/huggingface-llm/fmhMetadata/terms/gemmaTerms.txt",
    "InferenceEnvironmentVariables": [
        {"Name": "SM_NUM_GPUS", "Type": "text", "Default": "1", "Scope": "container", "RequiredForModelClass": True},
        {"Name": "MAX_INPUT_LENGTH", "Type": "text", "Default": "8191", "Scope": "container",
         "RequiredForModelClass": True},
        {"Name": "SAGEMAKER_PROGRAM", "Type": "text", "Default": "inference.py", "Scope": "algorithm",
         "RequiredForModelClass": True},
    ],
    "DefaultInferenceInstanceType": "ml.g5.xlarge",
    "SupportedInferenceInstanceTypes": ["ml.g5.xlarge", "ml.g5.2xlarge"],
    "InferenceEnableNetworkIsolation": True,
    "ModelDataDownloadTimeout": 1200, "ContainerStartupHealthCheckTimeout": 1200,
}


def test_live_resolver_reads_documents_as_the_sdk_does_and_caches():
    client, cache = _FakeSageMaker(GATED_DOC), {}
    spec = resolve_live("huggingface-llm-gemma-2b-instruct", None, "us-west-2", client=client, cache=cache)
    assert spec.version == "2.0.0" and spec.payload == "tgi" and spec.gpu_env == "SM_NUM_GPUS"
    assert spec.environment == {"SM_NUM_GPUS": "1", "MAX_INPUT_LENGTH": "8191"}, "container scope, `Default` values"
    assert spec.image_uri("us-west-2").endswith("/huggingface-pytorch-tgi-inference:2.1.1-tgi1.4.2-gpu-py310-"
                                                "cu121-ubuntu22.04")
    # The prepacked artifact, in the bucket the document names (gated models: the private cache).
    assert spec.artifact_uri("eu-west-1") == ("s3://jumpstart-private-cache-prod-eu-west-1/huggingface-llm/"
                                              "huggingface-llm-gemma-2b-instruct/artifacts/inference-prepack/v1.0.0/")
    assert spec.gated and not spec.artifact_compressed
    assert (spec.download_timeout_s, spec.health_check_timeout_s) == (1200, 1200)
    resolve_live("huggingface-llm-gemma-2b-instruct", None, "us-west-2", client=client, cache=cache)
    assert client.calls == 1


def test_hub_documents_missing_what_a_deployment_needs_are_refused():
    with pytest.raises(ValueError, match="lacks HostingPrepackedArtifactUri or HostingArtifactUri"):
        spec_from_hub_document("m", "1", {"HostingEcrUri": "x", "DefaultInferenceInstanceType": "ml.g5.xlarge"})
    made_up = dict(GATED_DOC, InferenceEnvironmentVariables=[{"Name": "SM_NUM_GPUS", "DefaultValue": "1"}])
    with pytest.raises(ValueError, match="SM_NUM_GPUS have no Default"):
        spec_from_hub_document("m", "1", made_up)


def test_gated_model_artifacts_are_granted_in_the_private_cache():
    from components.iam_documents import Account
    from components.jumpstart_endpoint.component import execution_policy

    spec = spec_from_hub_document("huggingface-llm-gemma-2b-instruct", "2.0.0", GATED_DOC)
    policy = execution_policy(spec, Account("us-east-1", "123456789012", "aws"), key_arn="k", endpoint_prefix="e",
                              capture_bucket_arn=None)
    artifacts = next(s for s in policy["Statement"] if s["Sid"] == "ModelArtifacts")
    assert artifacts["Resource"].startswith("arn:aws:s3:::jumpstart-private-cache-prod-us-east-1/huggingface-llm/")


def test_cpu_instance_uses_the_cpu_image(tmp_path):
    view = plan_config(tmp_path, config(endpoints=[{"name": "bge", "modelId": "huggingface-sentencesimilarity-bge-"
                                                    "large-en", "instanceType": "ml.c6i.xlarge"}]))
    model = view.get("aws:sagemaker/model:Model", "mlplat-dev-bge-model")["inputs"]
    assert model["primaryContainer"]["image"].endswith("transformers4.26.0-cpu-py39-ubuntu20.04")
    variant = view.get("aws:sagemaker/endpointConfiguration:EndpointConfiguration",
                       "mlplat-dev-bge-config")["inputs"]["productionVariants"][0]
    assert variant["volumeSizeInGb"] == 100, "EBS-only instances get a volume"


def test_models_in_the_vpc_reach_s3_through_its_managed_prefix_list(view):
    """SageMaker downloads artifacts through the model's subnets: 443 to the VPC alone never reaches S3."""
    for name in ("mixtral", "bge"):
        sg = view.get("aws:ec2/securityGroup:SecurityGroup", f"mlplat-dev-{name}-sg")["inputs"]
        rules = {(r.get("description"), tuple(r.get("cidrBlocks", [])), tuple(r.get("prefixListIds", [])))
                 for r in sg["egress"]}
        assert all(r["fromPort"] == r["toPort"] == 443 and r["protocol"] == "tcp" for r in sg["egress"])
        s3 = [r for r in rules if r[2]]
        assert len(s3) == 1 and s3[0][2][0].startswith("pl-"), rules
        assert any(r[1] == ("10.0.0.0/16",) for r in rules)


#: Instance-type variants as hub documents carry them (sagemaker-python-sdk tests, gemma HubModelDocument:
#: `Aliases` plus `Variants` whose `properties.image_uri` names an alias), with a CPU family and per-type settings.
CPU_IMAGE = "763104351884.dkr.ecr.us-west-2.amazonaws.com/huggingface-pytorch-inference:2.0.0-cpu-py310"
VARIANTS_DOC = dict(GATED_DOC, InferenceEnableNetworkIsolation=False, HostingInstanceTypeVariants={
    "Aliases": {"gpu_ecr_uri_1": GATED_DOC["HostingEcrUri"], "cpu_ecr_uri_1": CPU_IMAGE},
    "Variants": {
        "g5": {"properties": {"image_uri": "$gpu_ecr_uri_1", "environment_variables": {"MAX_BATCH": "8"}}},
        "ml.g5.2xlarge": {"properties": {"environment_variables": {"MAX_BATCH": "16"}}},
        "c6i": {"properties": {"image_uri": "$cpu_ecr_uri_1"}},
    }})


def test_instance_type_variants_pick_the_image_and_environment_as_the_sdk_does():
    spec = spec_from_hub_document("m", "1", VARIANTS_DOC)
    assert spec.image_uri("us-east-1", 0, "ml.c6i.xlarge").endswith("/huggingface-pytorch-inference:2.0.0-cpu-py310")
    assert spec.image_uri("us-east-1", 1, "ml.g5.xlarge").endswith("/huggingface-pytorch-tgi-inference:2.1.1-"
                                                                   "tgi1.4.2-gpu-py310-cu121-ubuntu22.04")
    assert spec.image_repository_name(0, "ml.c6i.xlarge") == "huggingface-pytorch-inference"
    # The family's variables, then the exact type's (get_instance_specific_environment_variables).
    assert spec.env_for(1, "ml.g5.xlarge")["MAX_BATCH"] == "8" and spec.env_for(1, "ml.g5.2xlarge")["MAX_BATCH"] == "16"
    assert "MAX_BATCH" not in spec.env_for(0, "ml.c6i.xlarge")
    with pytest.raises(ValueError, match=r"variant g5 names alias \$gpu_ecr_uri_9, which Aliases does not define"):
        spec_from_hub_document("m", "1", dict(VARIANTS_DOC, HostingInstanceTypeVariants={
            "Aliases": {}, "Variants": {"g5": {"properties": {"image_uri": "$gpu_ecr_uri_9"}}}}))


def test_the_container_follows_the_variant_of_its_instance_type():
    from components.jumpstart_endpoint.args import EndpointArgs
    from components.jumpstart_endpoint.component import JumpStartEndpoint

    spec = spec_from_hub_document("m", "1", VARIANTS_DOC)
    args = EndpointArgs(name="m", model_id="m", instance_type="ml.g5.2xlarge", accept_eula=True)
    container = JumpStartEndpoint._container(args, spec, "us-east-1", 1, "ml.g5.2xlarge")
    assert container.environment["MAX_BATCH"] == "16" and "tgi-inference" in container.image


def test_isolation_follows_the_spec_and_an_exemption_is_tagged_and_accepted():
    from components.jumpstart_endpoint.component import network_isolation
    from policies.rules import base as t
    from policies.rules.security import SAGEMAKER
    from tests.policies.helpers import check_resource

    assert network_isolation(spec_from_hub_document("m", "1", GATED_DOC)) == (True, None)
    silent = {k: v for k, v in GATED_DOC.items() if k != "InferenceEnableNetworkIsolation"}
    assert network_isolation(spec_from_hub_document("m", "1", silent)) == (True, None), "silent: isolated"
    isolated, tags = network_isolation(spec_from_hub_document("m", "1", VARIANTS_DOC))
    assert not isolated and "sets InferenceEnableNetworkIsolation false" in next(iter(tags.values()))
    model = {"enableNetworkIsolation": False, "tags": tags}
    assert check_resource(SAGEMAKER, t.SM_MODEL, model) == []
    native = {"enableNetworkIsolation": False, "kmsKeyId": "k", "vpcConfig": {"subnets": ["s"]},
              "tags": [{"key": k, "value": v} for k, v in tags.items()]}
    assert check_resource(SAGEMAKER, t.SM_ENDPOINT_CONFIG_NATIVE, native) == []
    assert check_resource(SAGEMAKER, t.SM_MODEL, {"enableNetworkIsolation": False}) == [
        "SageMaker model is not network-isolated (CKV_AWS_370)"]


def test_artifact_type_and_compression_come_from_the_document():
    gzip_object = dict(GATED_DOC, HostingPrepackedArtifactUri="s3://jumpstart-cache-prod-us-west-2/m/model-artifact",
                       HostingArtifactS3DataType="S3Object", HostingArtifactCompressionType="Gzip")
    spec = spec_from_hub_document("m", "1", gzip_object)
    assert spec.artifact_compressed and spec.s3_data_type == "S3Object", "no .tar.gz suffix, yet a gzip object"
    prefix = dict(GATED_DOC, HostingArtifactS3DataType="S3Prefix", HostingArtifactCompressionType="None")
    assert not spec_from_hub_document("m", "1", prefix).artifact_compressed
    with pytest.raises(ValueError, match="expected S3Prefix or S3Object / None or Gzip"):
        spec_from_hub_document("m", "1", dict(GATED_DOC, HostingArtifactCompressionType="Zstd"))


def test_the_request_format_comes_from_the_models_own_example_requests():
    """`DefaultPayloads` (alias -> ContentType, PromptKey, Body, as sagemaker-python-sdk reads hub content) say what
    the model takes, whatever the serving image is called; without them the image decides."""
    def with_payload(body: dict, prompt_key: str) -> str:
        doc = dict(GATED_DOC, DefaultPayloads={"Default": {"ContentType": "application/json", "PromptKey": prompt_key,
                                                           "Body": body}})
        return spec_from_hub_document("m", "1.0.0", doc).payload

    assert with_payload({"inputs": "Hi", "parameters": {"max_new_tokens": 64}}, "inputs") == "tgi"
    assert with_payload({"text_inputs": ["a", "b"], "mode": "embedding"}, "text_inputs") == "embedding"
    assert with_payload({"messages": [{"role": "user", "content": "Hi"}]}, "messages[0].content") == "openai-chat"
    assert spec_from_hub_document("m", "1.0.0", GATED_DOC).payload == "tgi"  # the TGI image, no payloads
