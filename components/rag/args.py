"""`ml-platform:rag`: the advanced RAG service over two of the stack's endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.base import StrictModel, problem


def query_body_schema() -> dict:
    """The query API's body model (JSON Schema draft 4, as API Gateway validates it before the function runs)."""
    return {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "required": ["question"],
            "additionalProperties": False,
            "properties": {"question": {"type": "string", "minLength": 1, "maxLength": 2000},
                           "retriever": {"type": "string", "enum": ["plain", "parent"]},
                           "compression": {"type": "string",
                                           "enum": ["none", "embeddings", "llm-extract", "llm-filter"]},
                           "k": {"type": "integer", "minimum": 1, "maximum": 10},
                           "async": {"type": "boolean"}}}


class RagArgs(StrictModel):
    enabled: bool = Field(default=False, description="Deploy the RAG service.")
    llm_endpoint: str = Field(default="mixtral-8x7b", description="endpoints[].name of the LLM (a TGI model).")
    embeddings_endpoint: str = Field(default="bge-embeddings", description="endpoints[].name of the embedder.")
    parent_size: int = Field(default=2000, ge=200, le=20_000, description="Parent chunk size (characters).")
    child_size: int = Field(default=400, ge=50, le=4000, description="Child chunk size (characters).")
    child_overlap: int = Field(default=50, ge=0, le=1000, description="Overlap between children (characters).")
    retriever: Literal["plain", "parent"] = Field(default="parent", description="Default retriever of the API.")
    compression: Literal["none", "embeddings", "llm-extract", "llm-filter"] = Field(
        default="embeddings", description="Default contextual compression of the API.")
    k: int = Field(default=4, ge=1, le=10, description="Default number of children / parents retrieved.")
    manage_api_gateway_account: bool = Field(
        default=True, description="This stack owns the region's API Gateway CloudWatch role (the query stage logs "
                                  "need it); false where another stack or liveChat owns it.")
    throttling_rate_limit: float = Field(default=20, gt=0, le=10_000, description="Query API requests per second.")
    throttling_burst_limit: int = Field(default=40, ge=1, le=5_000, description="Query API burst.")
    standby_replicas: bool = Field(
        default=False, description="OpenSearch Serverless standby replicas (2 OCUs at least instead of 1).")

    @model_validator(mode="after")
    def _sizes(self) -> RagArgs:
        if self.child_size >= self.parent_size:
            raise problem("childSize", f"expected less than parentSize ({self.parent_size}); found {self.child_size}")
        if self.child_overlap >= self.child_size:
            raise problem("childOverlap", f"expected less than childSize ({self.child_size}); "
                                          f"found {self.child_overlap}")
        return self
