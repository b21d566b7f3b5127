"""aws-native resources of the envs plans, linted by cfn-lint (see tests/cfn_lint_native.py)."""

from __future__ import annotations

import copy

import pytest

from tests.cfn_lint_native import cfn_type, problems, template


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_aws_native_resource_in_the_shipped_plans_passes_cfn_lint(envs, stack):
    plan = envs[stack].plan
    assert problems(plan, plan["outputs"]["region"]) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_aws_native_resources_use_the_stacks_provider_with_its_region_and_tags(envs, stack):
    """The default aws-native provider needs `aws-native:region` in the stack file (which sets none) and applies no
    tags: every aws-native resource goes through the explicit provider."""
    plan = envs[stack].plan
    (provider,) = [r for r in plan["resources"] if r["type"] == "pulumi:providers:aws-native"]
    assert provider["inputs"]["region"] == plan["outputs"]["region"] and provider["inputs"]["defaultTags"]
    native = [r for r in plan["resources"] if r["type"].startswith("aws-native:")]
    assert native and all(r["provider"].startswith(provider["urn"] + "::") for r in native), [r["urn"] for r in native]


def test_the_lex_resources_are_linted_under_their_cloudformation_names(envs):
    body = template(envs["prod"].plan, "us-east-1")
    assert sorted(r["Type"] for r in body["Resources"].values()) == ["AWS::Lex::Bot", "AWS::Lex::BotAlias",
                                                                      "AWS::Lex::BotVersion"]
    bot = next(r["Properties"] for r in body["Resources"].values() if r["Type"] == "AWS::Lex::Bot")
    assert bot["IdleSessionTTLInSeconds"] == 600 and bot["DataPrivacy"] == {"ChildDirected": False}
    assert cfn_type("aws-native:lex:BotAlias", "us-east-1") == "AWS::Lex::BotAlias"


def test_wrong_values_and_missing_properties_are_found(envs):
    plan = copy.deepcopy(envs["prod"].plan)
    bot = next(r for r in plan["resources"] if r["type"] == "aws-native:lex:Bot")
    bot["inputs"]["botLocales"][0]["nluConfidenceThreshold"] = 1.5
    bot["inputs"]["idleSessionTtlInSeconds"] = "ten minutes"
    del bot["inputs"]["dataPrivacy"]
    found = "\n".join(problems(plan, "us-east-1"))
    assert "NluConfidenceThreshold" in found and "IdleSessionTTLInSeconds" in found and "DataPrivacy" in found
