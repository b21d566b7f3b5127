"""Endpoint config errors (exit 2 in `mlplat plan`)."""

from __future__ import annotations

import dataclasses

import pytest

from stacks.config import parse
from stacks.errors import ConfigError
from tests.helpers import config, values

BGE = {"name": "bge", "modelId": "huggingface-sentencesimilarity-bge-large-en"}


def _problems(*endpoints: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse(values(config(endpoints=list(endpoints))), offline=True)
    return info.value.problems


def test_unknown_model_id_lists_pinned_ids():
    (line,) = _problems(dict(BGE, modelId="llama-9000"))
    assert line.startswith("ml-platform:endpoints[0].modelId: unknown JumpStart model id; pinned ids: ")
    assert "huggingface-llm-mixtral-8x7b-instruct" in line and "found 'llama-9000'" in line
    assert "scripts/refresh_catalog.py --add MODEL_ID" in line and "docs/adding-a-model.md" in line


def test_unpinned_version_offline():
    (line,) = _problems(dict(BGE, modelVersion="9.9.9"))
    assert line.startswith("ml-platform:endpoints[0].modelVersion: version 9.9.9 is not pinned (pinned: 2.1.21)")


def test_unsupported_instance_type_lists_supported():
    (line,) = _problems(dict(BGE, instanceType="ml.p4d.24xlarge"))
    assert line.startswith("ml-platform:endpoints[0].instanceType: huggingface-sentencesimilarity-bge-large-en "
                           "supports ml.g5.2xlarge, ml.c6i.xlarge")
    assert line.endswith("found 'ml.p4d.24xlarge'")


def test_marketplace_model_without_arn_and_wrong_region():
    (line,) = _problems({"name": "solar", "modelId": "upstage-solar-mini-chat"})
    assert line.startswith("ml-platform:endpoints[0].modelPackageArn: upstage-solar-mini-chat is an AWS "
                           "Marketplace model: subscribe")
    arn = "arn:aws:sagemaker:eu-west-1:865070037744:model-package/solar-v1"
    (line,) = _problems({"name": "solar", "modelId": "upstage-solar-mini-chat", "modelPackageArn": arn})
    assert "expected a model package ARN in us-east-1" in line


def test_autoscaling_min_above_max():
    (line,) = _problems(dict(BGE, autoscaling={"minCapacity": 3, "maxCapacity": 2}))
    assert line == "ml-platform:endpoints[0].autoscaling.minCapacity: expected at most maxCapacity (2); found 3"


def test_gated_model_needs_eula(monkeypatch):
    from components.catalog import jumpstart

    gated = dataclasses.replace(jumpstart.PINNED["huggingface-sentencesimilarity-bge-large-en"], gated=True)
    monkeypatch.setitem(jumpstart.PINNED, gated.model_id, gated)
    (line,) = _problems(BGE)
    assert line.startswith(f"ml-platform:endpoints[0].acceptEula: {gated.model_id} {gated.version} is gated")
    assert parse(values(config(endpoints=[dict(BGE, acceptEula=True)])))


def test_endpoint_name_length_keeps_sagemaker_names_under_63():
    (line,) = _problems(dict(BGE, name="a" * 31))
    assert line.startswith("ml-platform:endpoints[0].name:")


def test_online_an_unpinned_version_is_left_to_the_hub():
    """Under the real engine (online) a version that is not pinned is resolved from the public hub at deploy."""
    cfg = parse(values(config(endpoints=[dict(BGE, modelVersion="9.9.9")])), offline=False)
    assert cfg.endpoints[0].model_version == "9.9.9"
    with pytest.raises(ConfigError):
        parse(values(config(endpoints=[dict(BGE, modelVersion="9.9.9")])), offline=True)


def test_a_gated_model_read_from_the_hub_needs_the_eula_accepted(monkeypatch):
    """The EULA rule holds for specs resolved at deploy time too, not only for pinned ones."""
    from components.catalog import jumpstart
    from stacks import platform

    gated = dataclasses.replace(jumpstart.PINNED["huggingface-sentencesimilarity-bge-large-en"], version="9.9.9",
                                gated=True)
    monkeypatch.setattr(jumpstart, "resolve_live", lambda model_id, version, region: gated)
    cfg = parse(values(config(endpoints=[dict(BGE, modelVersion="9.9.9")])), offline=False)
    with pytest.raises(ConfigError) as info:
        platform.resolve_specs(cfg)
    assert info.value.problems == ["ml-platform:endpoints[0].acceptEula: huggingface-sentencesimilarity-bge-large-en "
                                   "9.9.9 is gated: set acceptEula: true after reading its license; found false"]
    accepted = parse(values(config(endpoints=[dict(BGE, modelVersion="9.9.9", acceptEula=True)])), offline=False)
    assert platform.resolve_specs(accepted)["bge"] is gated
