"""Every Lambda function is built one way (components/lambda_function.py): pinned runtime, its own encrypted
log group named in its logging config, and a role that allows what the function's settings require."""

from __future__ import annotations

import json

import pytest

from components.catalog.versions import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME
from tests.helpers import PlanView


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_function_has_its_encrypted_log_group_and_the_permissions_its_settings_need(envs, stack):
    plan: PlanView = envs[stack]
    functions = plan.of_type("aws:lambda/function:Function")
    assert functions
    groups = {g["outputs"]["name"]: g for g in plan.of_type("aws:cloudwatch/logGroup:LogGroup")}
    policies = {p["urn"]: p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy")}
    for fn in functions:
        inputs, urn = fn["inputs"], fn["urn"]
        assert (inputs["runtime"], inputs["architectures"]) == (LAMBDA_RUNTIME, [LAMBDA_ARCHITECTURE]), urn
        group = groups.get(inputs["loggingConfig"]["logGroup"])
        assert group is not None and group["inputs"]["kmsKeyId"] and group["inputs"]["retentionInDays"], urn
        role_urn = next(u for u in fn["propertyDependencies"]["role"])
        (policy,) = [p for p in policies.values() if role_urn in p["propertyDependencies"].get("role", [])]
        actions = {a for s in json.loads(policy["inputs"]["policy"])["Statement"] for a in s["Action"]}
        assert {"logs:CreateLogStream", "logs:PutLogEvents"} <= actions, urn
        if (inputs.get("tracingConfig") or {}).get("mode") == "Active":
            # CreateFunction refuses active tracing when the role cannot put trace segments.
            assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= actions, urn
        assert policy["urn"] in fn["dependencies"], f"{urn} is created before its role's policy"


def test_renamed_rag_roles_keep_their_identity(envs):
    """The RAG roles and policies moved to the shared `<function>-role` names: aliases, so nothing is replaced."""
    plan: PlanView = envs["staging"]
    for typ in ("aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"):
        for role in ("ingest", "query"):
            resource = plan.get(typ, f"mlplat-staging-rag-{role}-role")
            names = [a.get("spec", {}).get("name") for a in resource["aliases"]]
            assert names == [f"mlplat-staging-rag-{role}"], resource["urn"]
