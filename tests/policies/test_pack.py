"""The pack itself: unique kebab-case names with metadata, and a __main__ that only builds the PolicyPack."""

from __future__ import annotations

import ast
import re

import yaml

from policies.rules import ALL_POLICIES
from tests.helpers import ROOT


def test_policy_names_unique_kebab_case_with_metadata():
    names = [p.name for p in ALL_POLICIES]
    assert len(names) == len(set(names))
    for policy in ALL_POLICIES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", policy.name), policy.name
        assert policy.description and policy.severity is not None and policy.enforcement_level is not None
        assert policy.remediation_steps and policy.url.startswith("https://"), policy.name


def test_main_only_constructs_the_pack():
    tree = ast.parse((ROOT / "policies" / "__main__.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "PolicyPack"]
    assert len(calls) == 1
    keywords = {k.arg: k.value for k in calls[0].keywords}
    assert isinstance(keywords["policies"], ast.Name) and keywords["policies"].id == "ALL_POLICIES"
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    assert functions == [], "rules live in policies/rules, not in __main__"


def test_pack_config_files_name_real_policies():
    names = {p.name for p in ALL_POLICIES}
    for env in ("dev", "staging", "prod"):
        config = yaml.safe_load((ROOT / "policies" / "config" / f"{env}.json").read_text())
        assert set(config) - {"all"} <= names, env
    manifest = yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
