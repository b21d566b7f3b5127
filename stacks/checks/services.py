"""The services built on the endpoints and models: the RAG service's two endpoints, the KPI reports' model and
buckets, live chat's Talkdesk settings, and who owns the region's API Gateway account setting."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stacks.checks.base import Problems, one_of

if TYPE_CHECKING:
    from stacks.model import PlatformConfig


def _rag(cfg: PlatformConfig) -> Problems:
    """The service's two endpoints exist, the LLM speaks TGI and the embedder's dimension is known."""
    from components.catalog.jumpstart import EMBEDDING_DIMENSIONS, PINNED

    if not cfg.rag.enabled:
        return []
    problems: Problems = []
    by_name = {e.name: e for e in cfg.endpoints}
    llm, embedder = by_name.get(cfg.rag.llm_endpoint), by_name.get(cfg.rag.embeddings_endpoint)
    if llm is None:
        problems += one_of(("rag", "llmEndpoint"), "endpoints[].name", by_name, cfg.rag.llm_endpoint)
    elif (PINNED.get(llm.model_id) is None or PINNED[llm.model_id].payload != "tgi"):
        problems.append((("rag", "llmEndpoint"), f"expected a TGI text-generation model (the service sends TGI "
                                                 f"requests); found {llm.model_id}"))
    if embedder is None:
        problems += one_of(("rag", "embeddingsEndpoint"), "endpoints[].name", by_name, cfg.rag.embeddings_endpoint)
    elif embedder.model_id not in EMBEDDING_DIMENSIONS:
        problems.append((("rag", "embeddingsEndpoint"), f"expected an embedding model of known dimension "
                                                        f"({', '.join(EMBEDDING_DIMENSIONS)}); found "
                                                        f"{embedder.model_id}"))
    if cfg.live_chat.enabled and cfg.live_chat.manage_api_gateway_account and cfg.rag.manage_api_gateway_account:
        problems.append((("rag", "manageApiGatewayAccount"), "expected false: liveChat already owns the region's "
                                                             "API Gateway account setting in this stack; found true"))
    return problems


def service_checks(cfg: PlatformConfig) -> Problems:
    from components.catalog import bedrock_models, lifecycle

    problems = _rag(cfg)
    buckets = [k.bucket for k in cfg.kpi_reports if k.bucket]
    for i, report in enumerate(cfg.kpi_reports):
        # The summary model on today's calendar: one past its end of life (or one nobody knows) fails every report.
        if (why := lifecycle.problem(report.model_id, "invoke", bedrock_models.today())) and why[0] == "error":
            problems.append((("kpiReports", i, "modelId"), f"expected a Bedrock model that answers: {why[1]}; found "
                                                           f"{report.model_id!r}"))
        if report.bucket and buckets.count(report.bucket) > 1:
            problems.append((("kpiReports", i, "bucket"), f"a bucket has one notification configuration: "
                                                          f"{report.bucket!r} cannot serve two teams"))
    if cfg.live_chat.enabled and cfg.live_chat.talkdesk is None:
        problems.append((("liveChat", "talkdesk"), "live chat needs talkdesk.authUrl and the secret touchpointId, "
                                                   "clientId and clientSecret; found none"))
    return problems
