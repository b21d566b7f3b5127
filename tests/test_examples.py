"""The consumer example runs under the mock engine and creates the RAG pair."""

from __future__ import annotations

import runpy

from mlplat.plan import build_plan
from mlplat.project import Project, load_stack_config
from tests.helpers import ROOT, PlanView

EXAMPLE = ROOT / "examples" / "rag_pair"


def test_rag_pair_example_plans_two_autoscaled_endpoints():
    project = Project(root=EXAMPLE, name="rag-pair", stack_config_dir=EXAMPLE)
    cfg = load_stack_config(project, "example")
    view = PlanView(build_plan(project, cfg, program=lambda: runpy.run_path(str(EXAMPLE / "__main__.py"))))
    models = {m["name"]: m for m in view.of_type("aws:sagemaker/model:Model")}
    assert set(models) == {"llm-model", "embeddings-model"}
    assert all(m["inputs"]["enableNetworkIsolation"] for m in models.values())
    assert len(view.of_type("aws:appautoscaling/target:Target")) == 2
    assert set(view.outputs) == {"llmEndpoint", "embeddingsEndpoint"}
    subnets = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    assert all(m["inputs"]["vpcConfig"]["subnets"] == subnets for m in models.values())
