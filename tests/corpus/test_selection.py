"""Each selection method on documents where the right choice is known; the endpoints answer through Stubber."""

from __future__ import annotations

import io
import json
from pathlib import Path

import boto3
import numpy as np
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from datatrove.data import Document

from mlplat.corpus import remote, selection
from mlplat.corpus.pipeline import curate, expand_inputs
from mlplat.corpus.report import Progress
from mlruntime.corpus.config import CurateOptions, parse_domain_config
from mlruntime.embedding import LocalEmbedder, SageMakerEmbedder
from mlruntime.sagemaker import Target

DIVERSE = ("Revenue grew while margin guidance, bond yields, equity valuation, credit spreads, dividend policy "
           "and capital allocation all shifted after the quarter's earnings call with analysts.")
REPETITIVE = "Revenue revenue revenue revenue revenue revenue revenue revenue revenue revenue revenue revenue."
BONDS = "Bond yield curve credit spread duration coupon treasury auction bond investors yield."
EQUITY = "Equity shares dividend buyback shareholders stock price rally valuation multiple."


def _body(payload: object) -> StreamingBody:
    raw = json.dumps(payload).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def runtime() -> tuple[object, Stubber]:
    client = boto3.client("sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="x")
    return client, Stubber(client)


def tgi_expect(stubber: Stubber, endpoint: str, text: str, logprobs: list[float]) -> None:
    request = {"inputs": text, "parameters": {"max_new_tokens": 1, "details": True, "decoder_input_details": True,
                                              "truncate": selection.SCORER_MAX_INPUT_TOKENS}}
    prefill = [{"id": 1, "text": "<s>", "logprob": None}] + [{"id": i, "text": "t", "logprob": lp}
                                                             for i, lp in enumerate(logprobs)]
    stubber.add_response("invoke_endpoint", {"Body": _body([{"generated_text": ".", "details": {
        "finish_reason": "length", "prefill": prefill, "tokens": []}}]), "ContentType": "application/json"},
        {"EndpointName": endpoint, "ContentType": "application/json", "Accept": "application/json",
         "Body": json.dumps(request).encode()})


def _scores(work: Path, docs: list[str], **kwargs) -> dict[str, np.ndarray]:
    step = selection.Scorer(str(work), tokenizer="bytes", **kwargs)
    passed = list(step.run(iter(Document(text=t, id=str(i)) for i, t in enumerate(docs))))
    assert len(passed) == len(docs)
    return dict(np.load(work / "scores/00000.npz"))


def test_entropy_prefers_diverse_text(tmp_path: Path) -> None:
    scores = _scores(tmp_path, [REPETITIVE, DIVERSE], metrics=("entropy",))
    assert scores["entropy"][1] > scores["entropy"][0]
    (mask,) = selection.keep_masks([scores], ("entropy",), 0.5)
    assert mask.tolist() == [False, True]


def test_similarity_prefers_text_like_the_task(tmp_path: Path) -> None:
    task = tmp_path / "task.jsonl"
    task_text = "At the treasury auction the bond yield curve moved; coupon and duration too."
    task.write_text(json.dumps({"text": task_text}) + "\n")
    embedder = LocalEmbedder()
    centroid = selection.task_centroid(str(task), embedder)
    scores = _scores(tmp_path, [EQUITY, BONDS, DIVERSE], metrics=("similarity",), embedder=embedder,
                     centroid=centroid)
    assert int(np.argmax(scores["similarity"])) == 1


def test_similarity_through_the_bge_endpoint(tmp_path: Path) -> None:
    client, stubber = runtime()
    vectors = {BONDS: [1.0, 0.0], EQUITY: [0.0, 1.0], "task": [0.9, 0.1]}
    for texts in (["task"], [EQUITY, BONDS]):
        stubber.add_response("invoke_endpoint", {"Body": _body({"embedding": [vectors[t] for t in texts]})},
                             {"EndpointName": "bge", "ContentType": "application/json", "Accept": "application/json",
                              "Body": json.dumps({"text_inputs": texts, "mode": "embedding"}).encode()})
    task = tmp_path / "task.jsonl"
    task.write_text(json.dumps({"text": "task"}) + "\n")
    with stubber:
        embedder = SageMakerEmbedder(Target("bge"), lambda: client)
        centroid = selection.task_centroid(str(task), embedder)
        scores = _scores(tmp_path, [EQUITY, BONDS], metrics=("similarity",), embedder=embedder, centroid=centroid)
        stubber.assert_no_pending_responses()
    assert scores["similarity"][1] > scores["similarity"][0]


def test_perplexity_prefers_what_the_model_finds_novel(tmp_path: Path) -> None:
    client, stubber = runtime()
    tgi_expect(stubber, "tgi", BONDS, [-0.1, -0.2])   # familiar: perplexity ~1.16
    tgi_expect(stubber, "tgi", EQUITY, [-3.0, -2.0])  # novel: perplexity ~12.2
    with stubber:
        scorer = selection.TgiScorer(Target("tgi"), lambda: client)
        scores = _scores(tmp_path, [BONDS, EQUITY], metrics=("perplexity",), scorer=scorer)
    assert scores["perplexity"] == pytest.approx([np.exp(0.15), np.exp(2.5)])


def test_perplexity_needs_prompt_logprobs() -> None:
    with pytest.raises(ValueError, match="details.prefill"):
        selection.perplexity_from_tgi([{"generated_text": "x"}])


def test_combined_averages_percentile_ranks() -> None:
    per_rank = [{"entropy": np.array([1.0, 2.0, 3.0]), "similarity": np.array([0.9, 0.1, 0.8]),
                 "perplexity": np.array([30.0, 10.0, 20.0])}, {"entropy": np.array([0.5]),
                 "similarity": np.array([0.0]), "perplexity": np.array([5.0])}]
    masks = selection.keep_masks(per_rank, ("entropy", "similarity", "perplexity"), 0.25)
    # mean ranks: doc0 (1/3+1+1)/3, doc1 (2/3+1/3+1/3)/3, doc2 (1+2/3+2/3)/3, other rank's doc 0
    assert [m.tolist() for m in masks] == [[True, False, False], [False]]
    assert selection.percentile_ranks(np.array([1.0, 1.0, 3.0])).tolist() == [0.25, 0.25, 1.0]


def test_combined_selection_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Three financial outlet articles; the one that is diverse, on the task's topic and novel is kept."""
    docs = [REPETITIVE, BONDS + " " + DIVERSE, EQUITY]
    (tmp_path / "in").mkdir()
    records = [{"id": str(i), "url": f"https://www.reuters.com/{i}", "text": t} for i, t in enumerate(docs)]
    (tmp_path / "in/a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (tmp_path / "task.jsonl").write_text(json.dumps({"text": BONDS}) + "\n")
    client, stubber = runtime()
    for text, lps in zip(docs, ([-0.1], [-4.0], [-1.0]), strict=True):
        tgi_expect(stubber, "tgi", text, lps)
    monkeypatch.setattr(remote, "factory", lambda region: lambda: client)
    opts = CurateOptions(inputs=(str(tmp_path / "in"),), output=str(tmp_path / "out"), max_tokens=4096,
                         domain=parse_domain_config({"outlets": ["reuters.com"]}, "d"), select="combined",
                         keep_fraction=0.34, task_data=str(tmp_path / "task.jsonl"), scorer="sagemaker:tgi")
    files, _ = expand_inputs(opts.inputs)
    with stubber:
        stats = curate(opts, files, progress=Progress(enabled=False))
        stubber.assert_no_pending_responses()
    assert stats["counts"]["selected"] == 1
    (line,) = (tmp_path / "out/bedrock/train.jsonl").read_text().splitlines()
    assert json.loads(line)["input"] == docs[1]
