"""A sentence-embedding model loaded from a local folder (ONNX Runtime + tokenizer.json), on a tiny model the
tests build with known answers; the CLI's dense search with it; mismatched or missing models refused (exit 2)."""

from __future__ import annotations

import numpy as np
import pytest

from mlruntime.embedding import ModelEmbedder
from tests.helpers import run_cli
from tests.rag.tiny_model import TOPICS, build


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return build(tmp_path_factory.mktemp("tiny") / "tiny-embedder", pooling="mean")


def test_mean_pooling_over_real_tokens_only(model):
    embedder = ModelEmbedder(model)
    short, long_, other = embedder.embed(["glacier", "glacier ice snow crevasse glacier ice", "wine harvest"])
    assert embedder.dimension == len(TOPICS) + 1 and embedder.pooling == "mean"
    # Padding never dilutes a short text batched with a long one: both lie on the glacier axis.
    assert np.allclose(short, long_, atol=1e-6) and short[0] == pytest.approx(1.0)
    assert float(short @ other) == pytest.approx(0.0, abs=1e-6)
    assert np.allclose(np.linalg.norm(embedder.embed(["the report of a railway station"]), axis=1), 1.0)
    # The same text alone and in a batch gives the same vector.
    assert np.allclose(embedder.embed(["wine harvest"])[0], other, atol=1e-6)


def test_cls_pooling_when_the_pooling_config_says_so(tmp_path):
    embedder = ModelEmbedder(build(tmp_path / "cls", pooling="cls"))
    (vector,) = embedder.embed(["orchard the the the the"])
    assert embedder.pooling == "cls" and vector[list(TOPICS).index("orchard")] == pytest.approx(1.0)


def test_queries_carry_the_instruction_and_passages_do_not(model):
    embedder = ModelEmbedder(model, query_instruction="the glacier ")
    assert not np.allclose(embedder.embed_queries(["wine"]), embedder.embed(["wine"]))
    assert np.allclose(embedder.embed_queries(["wine"]), embedder.embed(["the glacier wine"]))


def test_a_folder_without_a_model_is_refused(tmp_path):
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(ValueError, match="expected a model folder with tokenizer.json and model.onnx"):
        ModelEmbedder(tmp_path)


def test_cli_dense_search_with_the_model_finds_the_topic(tmp_path, model):
    docs = tmp_path / "docs"
    docs.mkdir()
    for topic, topic_words in TOPICS.items():
        body = " ".join(["the report of the regional office"] * 30)
        (docs / f"{topic}.txt").write_text(f"{body} {' '.join(topic_words)} access code {body}")
    index = tmp_path / "index"
    ingest = run_cli("rag", "ingest", str(docs), "--index", str(index), "--embedder-model", str(model))
    assert ingest.returncode == 0, ingest.stderr
    found = run_cli("rag", "query", "what is the access code of the glacier", "--index", str(index), "--search",
                    "dense", "-k", "1", "--embedder-model", str(model), "--query-instruction", "")
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[0].startswith("# sources: glacier.txt#"), found.stdout
    # The index remembers its embedder: a query with another one is refused, not answered with garbage.
    other = run_cli("rag", "query", "glacier", "--index", str(index))
    assert other.returncode == 2 and "was built with the model:tiny-embedder embedder" in other.stderr
    missing = run_cli("rag", "query", "glacier", "--index", str(index), "--embedder-model", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "--embedder-model:" in missing.stderr



def test_many_texts_are_embedded_in_bounded_batches_with_the_same_vectors(model, monkeypatch):
    """A large file's children go through the model a batch at a time (memory bounded by the batch, not the file),
    and batching changes no vector."""
    embedder = ModelEmbedder(model)
    texts = [f"ledger entry {i} of the glacier project" for i in range(75)]
    whole = embedder.embed(texts)
    sizes: list[int] = []
    run = embedder._session.run

    def counting(outputs, feed):
        sizes.append(len(feed["input_ids"]))
        return run(outputs, feed)

    monkeypatch.setattr(embedder._session, "run", counting)
    monkeypatch.setattr(embedder, "BATCH", 10)
    batched = embedder.embed(texts)
    assert max(sizes) <= 10 and sum(sizes) == 75
    assert np.allclose(whole, batched, atol=1e-5)
