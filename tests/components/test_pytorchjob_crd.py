"""The PyTorchJob CRD the platform installs: generated from the operator's own SDK at the pinned release, structural
as the API server requires of a v1 CRD, and accepting every PyTorchJob the stacks create."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import jsonschema
import pytest

from components.catalog.versions import TRAINING_OPERATOR
from components.cluster_operators.training_operator import crd_manifest
from scripts.generate_pytorchjob_crd import TARGET, render
from tests.helpers import plan_environment

PYTORCH_JOB = "kubernetes:kubeflow.org/v1:PyTorchJob"


def test_the_committed_crd_is_what_the_pinned_sdk_generates():
    assert f"v{importlib.metadata.version('kubeflow-training')}" == TRAINING_OPERATOR.version
    assert TARGET.read_text() == render(), "run scripts/generate_pytorchjob_crd.py --write"


def _not_structural(node: dict[str, Any], path: str) -> list[str]:
    """apiextensions v1 structural rules: every node typed (or int-or-string / preserve-unknown-fields), no $ref."""
    problems = []
    if "$ref" in node:
        problems.append(f"{path}: $ref is not allowed")
    open_value = node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields")
    if not ("type" in node or open_value):
        problems.append(f"{path}: no type")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{path}: properties and additionalProperties together")
    for key, child in (node.get("properties") or {}).items():
        problems += _not_structural(child, f"{path}.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            problems += _not_structural(node[key], f"{path}[{key}]")
    return problems


def test_the_crd_is_structural():
    (version,) = crd_manifest()["spec"]["versions"]
    schema = version["schema"]["openAPIV3Schema"]
    assert _not_structural(schema, "openAPIV3Schema") == []
    worker = schema["properties"]["spec"]["properties"]["pytorchReplicaSpecs"]["additionalProperties"]
    container = worker["properties"]["template"]["properties"]["spec"]["properties"]["containers"]["items"]
    limits = container["properties"]["resources"]["properties"]["limits"]["additionalProperties"]
    assert limits["x-kubernetes-int-or-string"], "a quantity is an integer or a string (nvidia.com/gpu: 8)"


def test_a_mistyped_job_is_refused_by_the_crd_schema():
    (version,) = crd_manifest()["spec"]["versions"]
    validator = jsonschema.Draft7Validator(version["schema"]["openAPIV3Schema"])
    bad = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": "x"},
           "spec": {"runPolicy": {"backoffLimit": "three"}, "pytorchReplicaSpecs": {"Worker": {"replicas": "2"}}}}
    assert sorted(e.json_path for e in validator.iter_errors(bad)) == [
        "$.spec.pytorchReplicaSpecs.Worker.replicas", "$.spec.runPolicy.backoffLimit"]


@pytest.mark.parametrize("stack", ("dev", "staging", "prod"))
def test_every_planned_pytorchjob_fits_the_crd(stack):
    (version,) = crd_manifest()["spec"]["versions"]
    validator = jsonschema.Draft7Validator(version["schema"]["openAPIV3Schema"])
    for job in plan_environment(stack).of_type(PYTORCH_JOB):
        body = {k: v for k, v in job["inputs"].items() if not k.startswith("__")}
        assert [e.message for e in validator.iter_errors(body)] == [], job["urn"]
