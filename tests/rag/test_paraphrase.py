"""The RAG local mode's default embedder: a real sentence-embedding model that the `rag` extra's package ships,
loaded with no network, measured on paraphrased questions with known answers (bench/rag_paraphrase.py)."""

from __future__ import annotations

import importlib.util
import json
import socket
from pathlib import Path

import numpy as np
import pytest

from mlruntime.embedding import PackagedEmbedder
from tests.helpers import ROOT, run_cli

DATA = json.loads((ROOT / "tests" / "rag" / "paraphrase.json").read_text(encoding="utf-8"))
#: Function words (the Snowball English stop list's pronouns, auxiliaries, articles, prepositions, conjunctions):
#: what a paraphrase may share with its document.
_FUNCTION_WORDS = """i me my myself we our ours you your he him his she her it its they them their what which who
whom this that these those am is are was were be been being have has had do does did a an the and but if or because
as until while of at by for with about into through during before after to from up down in out on off over under then
once here there when where why how all any each no not only own same so than too very can will just"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())


def _bench():
    spec = importlib.util.spec_from_file_location("rag_paraphrase", ROOT / "bench" / "rag_paraphrase.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def _content(text: str) -> set[str]:
    from mlruntime.embedding import words

    stems = {w.rstrip("s") for w in words(text)}
    return {w for w in stems if w not in FUNCTION_WORDS and len(w) > 1}


def test_no_question_shares_a_content_word_with_its_document():
    """The benchmark measures paraphrases, not keyword matches: each question and its document share no word but
    function words (compared without a plural -s)."""
    assert len(DATA["questions"]) == len(DATA["documents"]) == 20
    for q in DATA["questions"]:
        shared = _content(q["question"]) & _content(DATA["documents"][q["document"]])
        assert not shared, (q["question"], shared)


def test_the_packaged_model_loads_with_no_network(monkeypatch):
    """Every connection refused while the model loads and embeds: it is read from the installed package only."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access while loading the packaged model: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = PackagedEmbedder()
    vectors = embedder.embed(["How do I reset my password?",
                              "Request a one-time code when you forget your login secret.",
                              "The canteen serves warm meals at noon."])
    assert vectors.shape == (3, embedder.dimension) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])
    assert embedder.embed([]).shape == (0, embedder.dimension)


def test_paraphrased_questions_are_found_by_the_model_and_not_by_words():
    """On questions that share no content word with their document, the packaged model's dense search finds more
    documents in its top 3 than BM25 and than the hashing embedder, and the default (hybrid with the model) more
    than BM25 alone."""
    from mlruntime.embedding import LocalEmbedder

    bench = _bench()
    model, hashing = bench.recall(PackagedEmbedder()), bench.recall(LocalEmbedder())
    assert model[("dense", 3)] > max(model[("bm25", 3)], hashing[("dense", 3)], hashing[("hybrid", 3)])
    assert model[("hybrid", 3)] > model[("bm25", 3)]


def test_the_default_is_the_packaged_model_with_hybrid_search(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DATA["documents"].items():
        (docs / name).write_text(text, encoding="utf-8")
    index = tmp_path / "idx"
    assert run_cli("rag", "ingest", str(docs), "--index", str(index)).returncode == 0
    assert json.loads((index / "chunks.json").read_text())["embedder"] == PackagedEmbedder.name
    question = "Where can I leave my bike?"

    def sources(*flags: str) -> str:
        result = run_cli("rag", "query", question, "--index", str(index), "-k", "3", *flags)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()[0]

    assert sources() == sources("--search", "hybrid") != sources("--search", "bm25")
    # The hashing fallback is asked for by name, and then searched by BM25 alone unless told otherwise.
    index = tmp_path / "hashing"
    assert run_cli("rag", "ingest", str(docs), "--index", str(index), "--embedder", "hashing").returncode == 0
    assert json.loads((index / "chunks.json").read_text())["embedder"] == "local"
    assert sources("--embedder", "hashing") == sources("--embedder", "hashing", "--search", "bm25") \
        != sources("--embedder", "hashing", "--search", "hybrid")

@pytest.mark.parametrize("missing", [PackagedEmbedder.WEIGHTS, PackagedEmbedder.TOKENIZER])
def test_a_package_without_the_models_files_is_a_clear_error(monkeypatch, tmp_path: Path, missing: str):
    import wordllama

    root = Path(wordllama.__file__).parent
    fake = tmp_path / "wordllama"
    for name in (PackagedEmbedder.WEIGHTS, PackagedEmbedder.TOKENIZER):
        if name != missing:
            (fake / name).parent.mkdir(parents=True, exist_ok=True)
            (fake / name).symlink_to(root / name)
    monkeypatch.setattr(wordllama, "__file__", str(fake / "__init__.py"))
    with pytest.raises(ValueError, match=f"lacks {missing}"):
        PackagedEmbedder()
