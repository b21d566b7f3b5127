"""The RAG ingestion lease (components/rag/handlers/ingest.py `serialized`) raced: an event that arrives while
another invocation holds a document's lease marks it dirty, and the holder reconciles again before letting go."""

from __future__ import annotations

import json

import pytest

from components.rag.handlers import ingest as ingest_module
from tests.rag.rag_support import DOC, FakeOpenSearch, _event, _run


def test_a_change_while_the_holder_embeds_is_indexed_before_the_lease_is_let_go(service):
    """The object changes after the holder read it (its embedding is under way) and the change's event arrives
    while the holder has the lease: that event only marks the document dirty, so the holder must reconcile again,
    and the index ends with the new text, not the one the holder read."""
    s3 = service["s3"]
    s3.put_object(Bucket="docs", Key="documents/aster.txt", Body=DOC.encode())
    real_embed, nested = ingest_module.embed, []

    def embed_while_the_object_changes(*args, **kwargs):
        if not nested:
            changed = DOC + "\n\nThe vault code is ZQ9981."
            s3.put_object(Bucket="docs", Key="documents/aster.txt", Body=changed.encode())
            nested.append(_run(service, _event("ObjectCreated:Put")))
        return real_embed(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ingest_module, "embed", embed_while_the_object_changes)
        _run(service, _event("ObjectCreated:Put"))
    assert nested[0]["ingested"][0]["result"] == "coalesced"
    texts = [child["text"] for child in FakeOpenSearch.indices["rag"].values()]
    assert any("ZQ9981" in t for t in texts), "the index holds the text S3 holds now"
    manifest = json.loads(s3.get_object(Bucket="docs", Key="parents/aster.txt/_manifest.json")["Body"].read())
    assert manifest["etag"] == s3.head_object(Bucket="docs", Key="documents/aster.txt")["ETag"]
