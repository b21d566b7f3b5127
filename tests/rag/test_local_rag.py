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

from mlplat.project import InputError
from mlruntime.embedding import LocalEmbedder
from mlruntime.rag.local import LocalIndex, ingest_folder
from mlruntime.rag.retrieval import (
    COMPRESSION_MAX_TOKENS,
    EXTRACT_PROMPT,
    FILTER_PROMPT,
    INTEGRATION_TIMEOUT_S,
    SYNC_MARGIN_S,
    Latency,
    Passage,
    Retrieved,
    compress_embeddings,
    compress_llm,
    retrieve,
    tgi_generate,
    worst_case_seconds,
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


class _Runtime:
    """sagemaker-runtime for concurrent callers: each request is checked against botocore's InvokeEndpoint
    shape, answered by prompt, and must find the other compression call in flight (a barrier): calls made one
    after the other fail here."""

    def __init__(self, answers: dict[str, str], concurrent: int) -> None:
        import threading

        from botocore.validate import ParamValidator

        self.answers, self.max_new_tokens = answers, []
        self._model = boto3.client("sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x",
                                   aws_secret_access_key="x").meta.service_model.operation_model("InvokeEndpoint")
        self._validator, self._barrier = ParamValidator(), threading.Barrier(concurrent, timeout=5)

    def invoke_endpoint(self, **params):
        report = self._validator.validate(params, self._model.input_shape)
        assert not report.has_errors(), report.generate_report()
        body = json.loads(params["Body"])
        self.max_new_tokens.append(body["parameters"]["max_new_tokens"])
        self._barrier.wait()
        raw = json.dumps([{"generated_text": self.answers[body["inputs"]]}]).encode()
        return {"Body": StreamingBody(io.BytesIO(raw), len(raw))}


def test_llm_extract_and_filter_through_the_endpoint_in_one_concurrent_wave():
    question = "What is the ledger code of project Aster?"
    found = Retrieved([Passage("a#p0", f"{FILLER} {FACT}"), Passage("b#p0", FILLER)], ["a#p0", "b#p0"])
    texts = [p.text for p in found.passages]
    runtime = _Runtime({EXTRACT_PROMPT.format(question=question, context=texts[0]): f" {FACT}",
                        EXTRACT_PROMPT.format(question=question, context=texts[1]): "NONE",
                        FILTER_PROMPT.format(question=question, context=texts[0]): " YES",
                        FILTER_PROMPT.format(question=question, context=texts[1]): " No."}, concurrent=2)
    generate = tgi_generate(runtime, Target("mixtral"), COMPRESSION_MAX_TOKENS)
    extracted = compress_llm(found, question, generate, "llm-extract")
    filtered = compress_llm(found, question, generate, "llm-filter")
    assert [(p.source, p.text) for p in extracted.passages] == [("a#p0", FACT)]
    assert [p.source for p in filtered.passages] == ["a#p0"] and filtered.passages[0].text == found.passages[0].text
    assert set(runtime.max_new_tokens) == {COMPRESSION_MAX_TOKENS}


def test_the_synchronous_query_fits_the_rest_integration_timeout():
    """Worst case of every mode at the API's largest k: one wave of compression calls, then the answer."""
    budget = INTEGRATION_TIMEOUT_S - SYNC_MARGIN_S
    for compression in ("none", "embeddings", "llm-extract", "llm-filter"):
        assert worst_case_seconds(compression) <= budget, compression
    # k sequential compression calls (the old path) would not fit with the API's k = 10.
    sequential = worst_case_seconds("none") + 10 * Latency().call(COMPRESSION_MAX_TOKENS)
    assert sequential > INTEGRATION_TIMEOUT_S


def test_cli_ingest_query_and_bad_input(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(_doc())
    index = str(tmp_path / "idx")
    result = run_cli("rag", "ingest", str(docs), "--index", index)
    assert result.returncode == 0 and result.stdout.startswith("indexed 1 document(s) (0 replaced)")
    result = run_cli("rag", "query", "What is the ledger code of project Aster?", "--index", index)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# sources: a.txt#p") and "KX4411" in result.stdout
    # Compression keeps the top sentences by embedding similarity: not with the hashing embedder (it drops answers).
    hashing_index = str(tmp_path / "hashing")
    assert run_cli("rag", "ingest", str(docs), "--index", hashing_index, "--embedder", "hashing").returncode == 0
    result = run_cli("rag", "query", "What is the ledger code of project Aster?", "--index", hashing_index,
                     "--embedder", "hashing", "--compression", "embeddings")
    assert result.returncode == 2 and "needs a sentence-embedding model (--embedder packaged" in result.stderr
    result = run_cli("rag", "query", "What is the ledger code of project Aster?", "--index", index,
                     "--compression", "embeddings")
    assert result.returncode == 0 and "KX4411" in result.stdout, result.stderr
    # An index answers only the embedder it was built with.
    result = run_cli("rag", "query", "What is the ledger code of project Aster?", "--index", hashing_index)
    assert result.returncode == 2 and "built with the local embedder; this one is wordllama" in result.stderr
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


def test_rag_sync_runs_the_stacks_ingest_function_and_prints_the_counts(monkeypatch, capsys):
    """`mlplat rag sync staging`: the ingest function found by its name prefix, asked for the documents, then one
    synchronous invocation per document (a whole bucket in one 300 s invocation timed out); the client waits longer
    than the function may run and never retries; every call checked against botocore's Lambda model."""
    from mlplat import rag_cli

    client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    made: list = []

    class Session:
        def __init__(self, **_):
            pass

        def client(self, service, config=None):
            made.append(config)
            return client

    monkeypatch.setattr(boto3.session, "Session", Session)
    monkeypatch.setattr(rag_cli, "SYNC_WORKERS", 1)  # the stubbed answers come in order

    def payload(body: dict) -> dict:
        raw = json.dumps(body).encode()
        return {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(raw), len(raw))}

    fn = "mlplat-staging-rag-ingest-1a2b3c4"
    with Stubber(client) as stub:
        stub.add_response("list_functions", {"Functions": [{"FunctionName": "other"}, {"FunctionName": fn}]}, {})
        stub.add_response("invoke", payload({"documents": ["a.txt", "b.txt", "c.txt"]}),
                          {"FunctionName": fn, "InvocationType": "RequestResponse",
                           "Payload": json.dumps({"sync": "list"}).encode()})
        for doc, result in (("a.txt", "unchanged"), ("b.txt", "removed"), ("c.txt", "indexed")):
            stub.add_response("invoke", payload({"doc": doc, "result": result}),
                              {"FunctionName": fn, "InvocationType": "RequestResponse",
                               "Payload": json.dumps({"sync": {"doc": doc}}).encode()})
        assert rag_cli._sync("staging") == 0
    assert capsys.readouterr().out.strip() == "documents 3, unchanged 1, removed 1, indexed 1"
    (config,) = made
    assert config.read_timeout > 300 and config.retries == {"max_attempts": 1, "mode": "standard"}
    with pytest.raises(InputError, match="rag.enabled is false"):
        rag_cli._sync("dev", client)


def test_bm25_finds_buried_facts_that_the_hashing_embedder_misses():
    """Generated reports with one buried access code each and near-miss distractors (bench/rag_retrieval.py's
    topic corpus, 100 reports): BM25 (the default beside the hashing embedder) puts the code in the top 4 parents
    for >= 95% of questions; the dense hashing embedder alone does not."""
    import importlib.util

    from tests.helpers import ROOT

    spec = importlib.util.spec_from_file_location("rag_retrieval", ROOT / "bench" / "rag_retrieval.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    recall = dict(bench.topics())
    assert recall["bm25"] >= 0.95 and recall["dense"] < recall["bm25"]


def test_embeddings_compression_compresses_even_when_every_similarity_is_high_and_keeps_document_order():
    """BGE's similarities sit in [0.6, 1]: a 0.2 threshold removed nothing. A sentence budget removes; kept
    sentences stay in their parent, in the parent's order."""
    a = " ".join(f"Alpha sentence {i} about nothing." for i in range(10)) + " The code of Aster is KX4411."
    b = " ".join(f"Beta sentence {i} about nothing." for i in range(10))
    found = Retrieved([Passage("a#p0", a), Passage("b#p0", b)], ["a#p0", "b#p0"])

    def embed(texts):  # every similarity in [0.6, 1], the fact highest, then the a-sentences in reverse order
        out = []
        for t in texts:
            score = 1.0 if "KX4411" in t else (0.8 - 0.01 * int(t.split()[2]) if t.startswith("Alpha") else 0.6)
            out.append([score, (1 - score * score) ** 0.5])
        return out

    compressed = compress_embeddings(found, [1.0, 0.0], embed, top_n=3)
    assert [p.source for p in compressed.passages] == ["a#p0"]
    assert compressed.passages[0].text == ("Alpha sentence 0 about nothing. Alpha sentence 1 about nothing. "
                                           "The code of Aster is KX4411."), "document order, not score order"
    assert compressed.kept_words == 16 and compressed.removed_words == found.tokens() - 16


def test_the_answer_cites_the_passages_it_used_and_none_when_it_does_not_know():
    """Passages go to the LLM labelled [1], [2], ...; the sources returned are the ones the answer cites."""
    from mlruntime.rag.retrieval import Passage, Retrieved

    found = Retrieved([Passage("a#p0", "Aster's code is KX4411."), Passage("b#p0", "Beta is unrelated.")],
                      ["a#p0", "b#p0"])
    assert found.context() == "[1] Aster's code is KX4411.\n\n[2] Beta is unrelated."
    assert [p.source for p in found.cited("The code is KX4411 [1].")] == ["a#p0"]
    assert found.cited("I do not know: the context does not say.") == []
    assert [p.source for p in found.cited("KX4411")] == ["a#p0", "b#p0"], "uncited: every passage is a source"
