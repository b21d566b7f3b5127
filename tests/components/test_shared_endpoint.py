"""Several JumpStart models on one endpoint: one scale-to-zero endpoint configuration, each model an inference
component sized to its share of the instance; shapes cfn-lint accepts, a role parliament accepts, a cost view that
compares with dedicated instances, and models that do not fit refused with exit 2."""

from __future__ import annotations

import json

import pytest

from components.catalog.jumpstart import PINNED
from components.catalog.sagemaker_instances import SAGEMAKER_INSTANCES
from components.jumpstart_endpoint.sharing import copy_of, fit_problems
from mlplat.cost import estimate
from policies.offline import evaluate, load_pack_config
from tests.cfn_lint_native import problems as cfn_problems
from tests.helpers import config, plan_config, run_cli
from tests.iam_lint import findings

MIXTRAL, BGE = "huggingface-llm-mixtral-8x7b-instruct", "huggingface-sentencesimilarity-bge-large-en"
IC = "aws-native:sagemaker:InferenceComponent"


def _pair(instance_type: str, **mixtral) -> dict:
    return config(sharedEndpoints=[{"name": "rag-pair", "instanceType": instance_type}], endpoints=[
        {"name": "mixtral-8x7b", "modelId": MIXTRAL, "sharedEndpoint": "rag-pair", **mixtral},
        {"name": "bge-embeddings", "modelId": BGE, "sharedEndpoint": "rag-pair", "scaleToZero": {"maxInstances": 2},
         # BGE's spec lists none of the instance types Mixtral's does.
         "allowUnlistedInstanceType": True}])


@pytest.fixture(scope="module")
def view(tmp_path_factory):
    return plan_config(tmp_path_factory.mktemp("shared"), _pair("ml.p4d.24xlarge"))


def test_one_endpoint_two_components_each_sized_to_its_share(view):
    (config_,) = view.of_type("aws-native:sagemaker:EndpointConfig")
    (endpoint,) = view.of_type("aws:sagemaker/endpoint:Endpoint")
    variant = config_["inputs"]["productionVariants"][0]
    assert variant["instanceType"] == "ml.p4d.24xlarge" and "modelName" not in variant
    assert variant["managedInstanceScaling"] == {"status": "ENABLED", "minInstanceCount": 0, "maxInstanceCount": 1}
    components = {c["name"]: c["inputs"] for c in view.of_type(IC)}
    assert {c["endpointName"] for c in components.values()} == {endpoint["outputs"]["name"]}
    need = {n: c["specification"]["computeResourceRequirements"] for n, c in components.items()}
    # Mixtral's weights (46.7 B bf16) and headroom need 105 GiB: 3 of the A100s' 40 GiB, rounded up to a shard
    # count TGI accepts (32 heads, 8 KV heads, 14,336 divide by 1, 2, 4, 8): 4. BGE: 1. 5 GPUs would not start.
    assert need["mlplat-dev-mixtral-8x7b-ic"]["numberOfAcceleratorDevicesRequired"] == 4
    assert need["mlplat-dev-bge-embeddings-ic"]["numberOfAcceleratorDevicesRequired"] == 1
    p4d = SAGEMAKER_INSTANCES["ml.p4d.24xlarge"]
    assert sum(n["minMemoryRequiredInMb"] for n in need.values()) <= (p4d.memory_gib - 2) * 1024
    assert sum(n["numberOfCpuCoresRequired"] for n in need.values()) <= p4d.vcpus - 1
    mixtral = view.get("aws:sagemaker/model:Model", "mlplat-dev-mixtral-8x7b-model")["inputs"]
    assert mixtral["primaryContainer"]["environment"]["SM_NUM_GPUS"] == "4", "TGI shards over the copy's GPUs"
    scaling = {t["name"]: t["inputs"] for t in view.of_type("aws:appautoscaling/target:Target")}
    assert scaling["mlplat-dev-bge-embeddings-copies"]["minCapacity"] == 0
    assert scaling["mlplat-dev-bge-embeddings-copies"]["maxCapacity"] == 2
    outputs = view.outputs
    assert set(outputs["inferenceComponentNames"]) == {"mixtral-8x7b", "bge-embeddings"}
    assert outputs["endpointNames"]["mixtral-8x7b"] == outputs["endpointNames"]["bge-embeddings"]


def test_the_shared_role_serves_both_models_and_passes_parliament(view):
    document = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", "mlplat-dev-rag-pair-role")["inputs"]["policy"])
    repositories = {s["Resource"].rsplit("/", 1)[1] for s in document["Statement"] if s["Sid"].startswith("EcrPull")}
    assert repositories == {"huggingface-pytorch-tgi-inference", "huggingface-pytorch-inference"}
    artifacts = [s for s in document["Statement"] if s["Sid"].startswith("ModelArtifacts")
                 and s["Action"] == ["s3:GetObject"]]
    assert len(artifacts) == 2
    assert findings("aws:iam/rolePolicy:RolePolicy", document) == []


def test_native_resources_pass_cfn_lint_and_the_security_policies(view):
    assert cfn_problems(view.plan, "us-east-1") == []
    pack = load_pack_config("prod")
    found = [v for v in evaluate(view.resources, pack) if "sagemaker" in v["policy"]]
    assert found == []


def test_the_cost_view_compares_with_dedicated_instances(view):
    (item,) = [i for i in estimate(view.resources)["items"] if i["name"] == "mlplat-dev-rag-pair-config"]
    dedicated = SAGEMAKER_INSTANCES["ml.g5.48xlarge"].hourly_usd + SAGEMAKER_INSTANCES["ml.g5.2xlarge"].hourly_usd
    assert item["hourlyUsdIdle"] == 0 and f"${dedicated:,.3f}/h" in item["detail"]
    assert "sharing costs" in item["detail"], "a p4d for the pair costs more than their own g5s: said, not hidden"


def test_models_that_do_not_fit_are_refused_with_the_numbers(tmp_path):
    copies = [copy_of(n, PINNED[m], SAGEMAKER_INSTANCES["ml.g5.48xlarge"], None)
              for n, m in (("mixtral-8x7b", MIXTRAL), ("bge-embeddings", BGE))]
    (problem,) = fit_problems(SAGEMAKER_INSTANCES["ml.g5.48xlarge"], copies)
    assert "need 9 GPUs (mixtral-8x7b 8 + bge-embeddings 1); ml.g5.48xlarge has 8" in problem[1]
    for cfg, needle in (
        (_pair("ml.g5.48xlarge"), "endpoints[1].sharedEndpoint: bge-embeddings on rag-pair: the models' copies need 9"),
        (_pair("ml.p4d.24xlarge", acceleratorsPerCopy=2),
         "endpoints[0].sharedEndpoint: mixtral-8x7b on rag-pair: 2 x 40 GiB of ml.p4d.24xlarge's GPU memory is less "
         "than the 105 GiB it needs"),
        (_pair("ml.p4d.24xlarge", acceleratorsPerCopy=5),
         "endpoints[0].sharedEndpoint: mixtral-8x7b on rag-pair: 5 GPUs: the server shards this model only over a "
         "number of GPUs its 32 attention heads, 8 key-value heads and intermediate size 14336 divide by (1, 2, 4, 8)"),
        (_pair("ml.p4d.24xlarge", autoscaling={"minCapacity": 1}), "endpoints[0].autoscaling: a model on a shared"),
        (config(endpoints=[{"name": "bge", "modelId": BGE, "sharedEndpoint": "nowhere"}]),
         "endpoints[0].sharedEndpoint: expected one of sharedEndpoints (none defined); found 'nowhere'"),
        (config(sharedEndpoints=[{"name": "idle", "instanceType": "ml.g5.12xlarge"}]),
         "sharedEndpoints[0]: expected endpoints[] whose sharedEndpoint is idle; found none"),
    ):
        path = tmp_path / "Pulumi.dev-s.yaml"
        path.write_text(json.dumps({"config": cfg}))
        result = run_cli("plan", "dev-s", "--config-file", str(path))
        assert result.returncode == 2 and f"ml-platform:{needle}" in result.stderr, result.stderr


def test_a_new_endpoint_configuration_replaces_the_components_it_hosts(tmp_path, view):
    """Every EndpointConfig property is create-only: one more instance replaces the configuration, hence the endpoint
    (a new name); UpdateInferenceComponent takes no EndpointName, so each component must be replaced with it, not
    updated in place (scripts/compare_plans.py judges the step from one plan to the next)."""
    import importlib.util

    from tests.helpers import ROOT

    spec = importlib.util.spec_from_file_location("compare_plans", ROOT / "scripts" / "compare_plans.py")
    compare_plans = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare_plans)
    more = config(**{k.split(":", 1)[1]: v for k, v in _pair("ml.p4d.24xlarge").items() if k.startswith("ml-platform:")
                     and k != "ml-platform:sharedEndpoints"},
                  sharedEndpoints=[{"name": "rag-pair", "instanceType": "ml.p4d.24xlarge", "maxInstances": 2}])
    bigger = plan_config(tmp_path, more)
    found = {next(r["type"] for r in bigger.plan["resources"] if r["urn"] == urn): step
             for urn, (step, _) in compare_plans.steps(view.plan, bigger.plan).items()}
    assert found["aws-native:sagemaker:EndpointConfig"] == "replace"
    assert found["aws:sagemaker/endpoint:Endpoint"] == "replace"
    assert found[IC] == "replace"
    assert compare_plans.stranded(view.plan, bigger.plan) == []
    # The judge sees the mistake: the same plan with the components' replaceOnChanges removed.
    unguarded = json.loads(json.dumps(bigger.plan))
    for r in unguarded["resources"]:
        if r["type"] == IC:
            r["replaceOnChanges"] = []
    (first, *_) = compare_plans.stranded(view.plan, unguarded)
    assert "an in-place update cannot change endpointName (sagemaker UpdateInferenceComponent takes no " \
           "EndpointName)" in first


def test_each_component_can_write_its_own_log_group_and_metrics(view):
    """A failing copy is diagnosed from /aws/sagemaker/InferenceComponents/<component name>: the shared role allows
    the group of each component the plan names (its generated name), and the components' metrics namespace."""
    from fnmatch import fnmatchcase

    (policy,) = [r for r in view.of_type("aws:iam/rolePolicy:RolePolicy") if "rag-pair" in r["name"]]
    statements = json.loads(policy["inputs"]["policy"])["Statement"]
    groups = [g for s in statements if s["Sid"].startswith("Logs")
              for g in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])]
    namespaces = {n for s in statements if s["Sid"].startswith("Metrics")
                  for n in s["Condition"]["StringLike"]["cloudwatch:namespace"]}
    for ic in view.of_type(IC):
        name = ic["outputs"]["inferenceComponentName"]
        group = f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/InferenceComponents/{name}"
        assert any(fnmatchcase(group, g) for g in groups), (name, groups)
    assert "/aws/sagemaker/InferenceComponents" in namespaces


def test_rag_functions_may_invoke_the_components_they_name(tmp_path):
    """The RAG functions call InvokeEndpoint naming an inference component (LLM_COMPONENT, EMBEDDINGS_COMPONENT):
    InvokeEndpoint's resource types are the endpoint and the inference component (Service Authorization Reference),
    so each role is granted the components it names beside their endpoint."""
    pair = _pair("ml.p4d.24xlarge")
    pair["ml-platform:network"] = {**pair["ml-platform:network"], "interfaceEndpoints": [
        "ecr.api", "ecr.dkr", "sts", "logs", "sagemaker.api", "sagemaker.runtime", "lambda"]}
    pair["ml-platform:rag"] = {"enabled": True, "llmEndpoint": "mixtral-8x7b", "embeddingsEndpoint": "bge-embeddings"}
    view = plan_config(tmp_path, pair)
    names = {ic["name"]: ic["outputs"]["inferenceComponentName"] for ic in view.of_type(IC)}
    arn = "arn:aws:sagemaker:us-east-1:123456789012:inference-component/"
    for role, wanted in (("query", ("mixtral-8x7b", "bge-embeddings")), ("ingest", ("bge-embeddings",))):
        variables = view.get("aws:lambda/function:Function", f"mlplat-dev-rag-{role}")["inputs"]["environment"][
            "variables"]
        assert variables["EMBEDDINGS_COMPONENT"] == names["mlplat-dev-bge-embeddings-ic"]
        statements = json.loads(view.get("aws:iam/rolePolicy:RolePolicy", f"mlplat-dev-rag-{role}-role")["inputs"][
            "policy"])["Statement"]
        (invoke,) = [s for s in statements if s["Sid"] == "Endpoints"]
        components = sorted(r for r in invoke["Resource"] if ":inference-component/" in r)
        assert components == sorted(arn + names[f"mlplat-dev-{w}-ic"] for w in wanted)
        assert findings("aws:iam/rolePolicy:RolePolicy", {"Version": "2012-10-17", "Statement": statements}) == []


def test_a_model_on_an_instance_type_its_spec_does_not_list_is_refused_unless_allowed(view, tmp_path):
    """BGE's JumpStart spec lists g5/g4dn/p3/c6i types, not ml.p4d.24xlarge: refused with exit 2 naming the key,
    accepted with allowUnlistedInstanceType, and then the plan warns."""
    pair = _pair("ml.p4d.24xlarge")
    del pair["ml-platform:endpoints"][1]["allowUnlistedInstanceType"]
    path = tmp_path / "Pulumi.dev-s.yaml"
    path.write_text(json.dumps({"config": pair}))
    result = run_cli("plan", "dev-s", "--config-file", str(path))
    assert result.returncode == 2
    assert ("ml-platform:endpoints[1].sharedEndpoint: bge-embeddings on rag-pair: "
            "huggingface-sentencesimilarity-bge-large-en's spec lists ml.g5.2xlarge") in result.stderr
    assert "set allowUnlistedInstanceType: true" in result.stderr
    warnings = [d["message"] for d in view.diagnostics if d["severity"] == "warning"]
    assert any("bge-embeddings (huggingface-sentencesimilarity-bge-large-en) runs on ml.p4d.24xlarge, which its "
               "JumpStart spec does not list" in w for w in warnings)
    assert not any("mixtral-8x7b (" in w and "does not list" in w for w in warnings)


def test_components_cache_their_artifacts_and_image_for_scale_out(view):
    for ic in view.of_type(IC):
        assert ic["inputs"]["specification"]["dataCacheConfig"] == {"enableCaching": True}
    assert cfn_problems(view.plan, "us-east-1") == []
