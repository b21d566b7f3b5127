"""Judges of Kubernetes objects that nobody on this project wrote.

- Built-in kinds: the upstream OpenAPI schemas per Kubernetes minor version, strict (unknown fields are
  errors), as the `kubernetes-validate` package ships them.
- PyTorchJob: the Kubeflow training operator's own API types, from its Python SDK
  (`kubeflow-training`, generated from the operator's OpenAPI spec: the same types its CRD's
  `openAPIV3Schema` is generated from). Every field must be one of the type's fields (a structural
  CRD silently prunes unknown ones), with the right JSON type; the pod templates inside are judged by
  the upstream `PodTemplateSpec` schema above. The CRD YAML itself is not vendored: this workplace
  does not commit data copied out of other repositories.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

_PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object}


def _schema_dir(version: str) -> str:
    minor = kv.major_minor(version.lstrip("v"))
    chosen = [v for v in kv.all_versions() if kv.major_minor(v) <= minor][-1]
    return f"v{chosen}-local-strict"


def validate_definition(value: Any, schema_file: str, version: str) -> list[str]:
    """Problems of `value` against one strict schema file (e.g. `podtemplatespec-v1.json`)."""
    directory = _schema_dir(version)
    schema = kv.schema_contents(f"kubernetes-json-schema/{directory}/{schema_file}", version)
    definitions = kv.schema_contents(f"kubernetes-json-schema/{directory}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)]


def validate_builtin(obj: dict[str, Any], version: str) -> list[str]:
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(map(str, exc.path))}: {exc.message}"]
    return []


def _check(value: Any, type_name: str, path: str, version: str, errors: list[str]) -> None:
    from kubeflow.training import models

    if type_name == "V1PodTemplateSpec":
        errors += [f"{path}.{e}" for e in validate_definition(value, "podtemplatespec-v1.json", version)]
        return
    if type_name == "V1ObjectMeta":
        errors += [f"{path}.{e}" for e in validate_definition(value, "objectmeta-meta-v1.json", version)]
        return
    if match := re.fullmatch(r"list\[(.+)\]", type_name):
        if not isinstance(value, list):
            errors.append(f"{path}: expected a list; found {type(value).__name__}")
            return
        for i, item in enumerate(value):
            _check(item, match.group(1), f"{path}[{i}]", version, errors)
        return
    if match := re.fullmatch(r"dict\(str, (.+)\)", type_name):
        if not isinstance(value, dict):
            errors.append(f"{path}: expected an object; found {type(value).__name__}")
            return
        for key, item in value.items():
            _check(item, match.group(1), f"{path}.{key}", version, errors)
        return
    if type_name in _PRIMITIVES:
        python_type = _PRIMITIVES[type_name]
        if not isinstance(value, python_type) or (type_name == "int" and isinstance(value, bool)):
            errors.append(f"{path}: expected {type_name}; found {value!r}")
        return
    model = getattr(models, type_name)
    if not isinstance(value, dict):
        errors.append(f"{path}: expected an object ({type_name}); found {type(value).__name__}")
        return
    by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
    for key, item in value.items():
        if key not in by_json:
            errors.append(f"{path}.{key}: unknown field of {type_name} (a structural CRD prunes it silently); "
                          f"known: {', '.join(sorted(by_json))}")
            continue
        _check(item, model.openapi_types[by_json[key]], f"{path}.{key}", version, errors)


def validate_pytorchjob(obj: dict[str, Any], version: str) -> list[str]:
    errors: list[str] = []
    if (obj.get("apiVersion"), obj.get("kind")) != ("kubeflow.org/v1", "PyTorchJob"):
        return [f"expected apiVersion kubeflow.org/v1, kind PyTorchJob; found {obj.get('apiVersion')} "
                f"{obj.get('kind')}"]
    _check(obj, "KubeflowOrgV1PyTorchJob", "PyTorchJob", version, errors)
    return errors


# RayJob (ray.io/v1): no package on PyPI ships KubeRay's types or CRD, so the fields it may carry are listed here as
# read from ray-project/kuberay ray-operator/config/crd/bases/ray.io_rayjobs.yaml (tags v1.4.2 and v1.7.0) and
# apis/ray/v1/rayjob_types.go; the pod templates inside are judged by the upstream PodTemplateSpec schema.
RAYJOB_FIELDS = {
    "spec": {"entrypoint", "runtimeEnvYAML", "shutdownAfterJobFinishes", "ttlSecondsAfterFinished",
             "activeDeadlineSeconds", "backoffLimit", "submissionMode", "rayClusterSpec", "submitterPodTemplate",
             "clusterSelector", "jobId", "metadata", "entrypointNumCpus", "entrypointNumGpus", "suspend"},
    "rayClusterSpec": {"rayVersion", "headGroupSpec", "workerGroupSpecs", "enableInTreeAutoscaling",
                       "autoscalerOptions", "headServiceAnnotations", "suspend"},
    "headGroupSpec": {"rayStartParams", "template", "serviceType", "headService", "enableIngress"},
    "workerGroupSpecs": {"groupName", "replicas", "minReplicas", "maxReplicas", "rayStartParams", "template",
                         "numOfHosts", "idleTimeoutSeconds", "scaleStrategy", "suspend"},
}


def validate_rayjob(obj: dict[str, Any], version: str) -> list[str]:
    errors = [f"metadata.{e}" for e in validate_definition(obj["metadata"], "objectmeta-meta-v1.json", version)]
    spec = obj["spec"]
    cluster = spec.get("rayClusterSpec", {})
    parts = [("spec", spec), ("rayClusterSpec", cluster), ("headGroupSpec", cluster.get("headGroupSpec", {}))]
    parts += [("workerGroupSpecs", g) for g in cluster.get("workerGroupSpecs", [])]
    for name, part in parts:
        errors += [f"{name}.{k}: unknown field" for k in part if k not in RAYJOB_FIELDS[name]]
    if spec.get("ttlSecondsAfterFinished", 0) > 0 and not spec.get("shutdownAfterJobFinishes"):
        errors.append("spec.ttlSecondsAfterFinished: needs shutdownAfterJobFinishes (KubeRay's validation)")
    for name, part in parts[2:]:
        if not isinstance(part.get("rayStartParams", {}), dict) or not all(
                isinstance(v, str) for v in part.get("rayStartParams", {}).values()):
            errors.append(f"{name}.rayStartParams: expected a map of strings")
        errors += [f"{name}.template.{e}" for e in validate_definition(part["template"], "podtemplatespec-v1.json",
                                                                        version)]
    return errors


# Karpenter (NodePool, NodeOverlay, EC2NodeClass): judged by Karpenter's own CRD schemas at the pinned v1.14.1
# (`openAPIV3Schema` of aws/karpenter-provider-aws pkg/apis/crds, extracted into tests/schemas/karpenter by
# scripts/generate_karpenter_schemas.py), as the API server does: the OpenAPI v3 schema (types, enums, patterns,
# bounds, required) and structural pruning (a field the schema does not declare is dropped silently: an error here).
# Its CEL rules (`x-kubernetes-validations`) are not evaluated.
KARPENTER_SCHEMAS = Path(__file__).parent / "schemas" / "karpenter"


@functools.cache
def _karpenter_schema(kind: str, version: str) -> dict[str, Any]:
    return json.loads((KARPENTER_SCHEMAS / f"{kind}.{version}.json").read_text())["schema"]


def _pruned(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    """Fields of `value` a structural schema does not declare (the API server prunes them)."""
    if isinstance(value, dict):
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return []
        props, extra = schema.get("properties"), schema.get("additionalProperties")
        out = []
        for key, item in value.items():
            if props is not None and key in props:
                out += _pruned(item, props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                out += _pruned(item, extra, f"{path}.{key}")
            elif props is not None:
                out.append(f"{path}.{key}: unknown field (a structural CRD prunes it silently)")
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [p for i, item in enumerate(value) for p in _pruned(item, schema["items"], f"{path}[{i}]")]
    return []


def validate_karpenter(objects: list[dict[str, Any]]) -> list[list[str]]:
    """Problems of each Karpenter object (one list per object, in order)."""

    results = []
    for obj in objects:
        kind, version = obj.get("kind", ""), str(obj.get("apiVersion", "")).rsplit("/", 1)[-1]
        if not (KARPENTER_SCHEMAS / f"{kind}.{version}.json").is_file():
            results.append([f"no schema for kind {kind} {version}"])
            continue
        schema = _karpenter_schema(kind, version)
        validator = jsonschema.Draft7Validator(schema)
        problems = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]
        results.append(problems + _pruned(obj, schema, kind))
    return results
