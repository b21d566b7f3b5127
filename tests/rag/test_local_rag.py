"""The RAG local mode: splitting and child-to-parent ids, idempotent re-ingestion, retrieval, compression (the
LLM answered by botocore's Stubber on sagemaker-runtime), and the CLI's bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import numpy as np
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from mlruntime.embedding import LocalEmbedder
from mlruntime.rag.local import LocalIndex, ingest_folder
from mlruntime.rag.retrieval import (
    EXTRACT_PROMPT,
    FILTER_PROMPT,
    Passage,
    Retrieved,
    compress_embeddings,
    compress_llm,
    retrieve,
    tgi_generate,
)
from mlruntime.rag.split import split_document, split_text
from mlruntime.sagemaker import Target
from tests.helpers import run_cli

FACT = "The ledger code of project Aster is KX4411."
FILLER = " ".join(["Quarterly milestone review covered the roadmap and the stakeholder timeline."] * 6)


def _doc(fact: str = FACT) -> str:
    return "\n\n".join([FILLER] * 4 + [fact] + [FILLER] * 4)


def test_children_fit_their_size_overlap_and_map_to_their_parent():
    parents, children = split_document("a.txt", _doc(), parent_size=1000, child_size=300, child_overlap=80)
    assert all(len(p.text) <= 1000 for p in parents) and all(len(c.text) <= 300 for c in children)
    by_id = {p.id: p for p in parents}
    for child in children:
        assert child.text in by_id[child.parent_id].text and child.id.startswith(f"{child.parent_id}c")
    assert sum(FACT in p.text for p in parents) == 1
    chunks = split_text("one. two. three. four. five. six.", 12, overlap=6)
    # whole pieces only: "three. " (7 characters) is longer than the overlap, so "four." starts clean
    assert chunks == ["one. two.", "two. three.", "four. five.", "five. six."]
    with pytest.raises(ValueError, match="overlap"):
        split_text("x", 10, overlap=10)


def test_reingesting_replaces_never_duplicates(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(_doc())
    (docs / "b.md").write_text(_doc("The launch city of project Birch is Lisbon."))
    first = ingest_folder(LocalIndex(tmp_path / "idx"), docs)
    again = ingest_folder(LocalIndex(tmp_path / "idx"), docs)
    assert again == {**first, "replaced": 2}
    index = LocalIndex(tmp_path / "idx")
    assert index.index.ntotal == first["children"] == len(index.meta["children"])
    (docs / "a.txt").write_text("Project Aster moved its ledger code to QM9001.")
    ingest_folder(index, docs)
    texts = " ".join(c["text"] for c in index.meta["children"].values())
    assert "QM9001" in texts and "KX4411" not in texts
    assert not [p for p in index.meta["parents"] if p.startswith("a.txt#p1")]


def test_parent_retrieval_returns_whole_parents_and_compression_keeps_the_fact(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(_doc())
    (docs / "b.txt").write_text(_doc("The launch city of project Birch is Lisbon."))
    index = LocalIndex(tmp_path / "idx")
    ingest_folder(index, docs, parent_size=1200, child_size=300, child_overlap=0)
    vector = index.embedder.embed(["What is the ledger code of project Aster?"])[0]
    plain = retrieve(vector, retriever="plain", k=1, search=index.search, parents=index.parent)
    parent = retrieve(vector, retriever="parent", k=1, search=index.search, parents=index.parent)
    assert FACT in plain.context() and FACT in parent.context()
    assert parent.tokens() > plain.tokens() and parent.sources[0].startswith("a.txt#p")
    compressed = compress_embeddings(parent, vector, index.embedder.embed, threshold=0.3)
    assert FACT in compressed.context() and compressed.tokens() < parent.tokens()


def _runtime() -> tuple[object, Stubber]:
    client = boto3.client("sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    return client, Stubber(client)


def _answer(stubber: Stubber, prompt: str, text: str) -> None:
    raw = json.dumps([{"generated_text": text}]).encode()
    body = {"inputs": prompt, "parameters": {"max_new_tokens": 512, "temperature": 0.01, "do_sample": False,
                                             "return_full_text": False}}
    stubber.add_response("invoke_endpoint", {"Body": StreamingBody(io.BytesIO(raw), len(raw))},
                         {"EndpointName": "mixtral", "ContentType": "application/json", "Accept": "application/json",
                          "Body": json.dumps(body).encode()})


def test_llm_extract_and_filter_through_the_endpoint():
    question = "What is the ledger code of project Aster?"
    found = Retrieved([Passage("a#p0", f"{FILLER} {FACT}"), Passage("b#p0", FILLER)], ["a#p0", "b#p0"])
    client, stubber = _runtime()
    _answer(stubber, EXTRACT_PROMPT.format(question=question, context=found.passages[0].text), f" {FACT}")
    _answer(stubber, EXTRACT_PROMPT.format(question=question, context=found.passages[1].text), "NONE")
    _answer(stubber, FILTER_PROMPT.format(question=question, context=found.passages[0].text), " YES")
    _answer(stubber, FILTER_PROMPT.format(question=question, context=found.passages[1].text), " No.")
    with stubber:
        generate = tgi_generate(client, Target("mixtral"))
        extracted = compress_llm(found, question, generate, "llm-extract")
        filtered = compress_llm(found, question, generate, "llm-filter")
        stubber.assert_no_pending_responses()
    assert [(p.source, p.text) for p in extracted.passages] == [("a#p0", FACT)]
    assert [p.source for p in filtered.passages] == ["a#p0"] and filtered.passages[0].text == found.passages[0].text


def test_cli_ingest_query_and_bad_input(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(_doc())
    index = str(tmp_path / "idx")
    result = run_cli("rag", "ingest", str(docs), "--index", index)
    assert result.returncode == 0 and result.stdout.startswith("indexed 1 document(s) (0 replaced)")
    result = run_cli("rag", "query", "What is the ledger code of project Aster?", "--index", index,
                     "--compression", "embeddings")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# sources: a.txt#p") and "KX4411" in result.stdout
    for question, message in (("  ", "question: expected 1 to 2000 characters; found 0"),
                              ("x" * 2001, "question: expected 1 to 2000 characters; found 2001")):
        result = run_cli("rag", "query", question, "--index", index)
        assert (result.returncode, result.stderr.strip()) == (2, f"error: {message}")
    result = run_cli("rag", "query", "q", "--index", index, "--compression", "llm-filter")
    assert result.returncode == 2 and "pass --endpoint-stack STACK" in result.stderr
    with pytest.raises(SystemExit) as exit_info:
        run_cli("rag", "query", "q", "--index", index, "--retriever", "fancy")
    assert exit_info.value.code == 2


def test_the_local_embedder_is_deterministic_and_normalised():
    vectors = LocalEmbedder().embed(["ledger code", "ledger codes", ""])
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0) and not vectors[2].any()
    assert float(vectors[0] @ vectors[1]) == pytest.approx(1.0)  # the plural -s is folded
