"""The network: its AZs belong to the region, and what runs inside it without internet has the VPC endpoints it
calls (the plan's `vpc-functions-reach-their-apis` policy judges the same path on the planned resources)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stacks.checks.base import Problems

if TYPE_CHECKING:
    from stacks.model import PlatformConfig

#: Interface endpoints a VpcOnly Canvas domain needs (plus bedrock-runtime for generative AI).
CANVAS_VPC_ENDPOINTS = ("sagemaker.api", "sagemaker.runtime", "sts", "logs")


def network_checks(cfg: PlatformConfig) -> Problems:
    problems: Problems = [
        (("network", "availabilityZones", i), f"expected an AZ of region {cfg.region}; found {az!r}")
        for i, az in enumerate(cfg.network.availability_zones) if not az.startswith(cfg.region)]
    return problems + _canvas_endpoints(cfg) + _rag_endpoints(cfg)


def _canvas_endpoints(cfg: PlatformConfig) -> Problems:
    canvas = cfg.canvas
    if not canvas.enabled:
        return []
    if canvas.app_network_access_type != "VpcOnly" or cfg.network.existing is not None:
        return []
    needed = list(CANVAS_VPC_ENDPOINTS) + (["bedrock-runtime"] if canvas.features.generative_ai else [])
    missing = [e for e in needed if e not in cfg.network.interface_endpoints]
    if missing:
        return [(("network", "interfaceEndpoints"), f"a VpcOnly Canvas domain has no internet: add "
                                                    f"{', '.join(missing)}; found {cfg.network.interface_endpoints}")]
    return []


def _rag_endpoints(cfg: PlatformConfig) -> Problems:
    if not cfg.rag.enabled:
        return []
    problems: Problems = []
    if cfg.network.existing is not None and not cfg.network.interface_endpoints:
        problems.append((("rag",), "the functions need sagemaker.runtime: add it to network.interfaceEndpoints"))
    endpoints = cfg.network.interface_endpoints
    if cfg.network.existing is None and endpoints and "lambda" not in endpoints:
        # With interface endpoints the functions have no NAT egress: the query function starts its asynchronous
        # work with lambda:InvokeFunction, which needs the Lambda endpoint (the pack's vpc-functions-reach-their-apis).
        problems.append((("network", "interfaceEndpoints"), "expected lambda among them: the RAG query function "
                         "invokes itself for asynchronous queries from inside the VPC; found "
                         f"[{', '.join(endpoints)}]"))
    return problems
