"""Plain chunk retrieval and parent-document retrieval over any child index, then contextual compression.

`search(vector, k)` is the index's k-NN over children (FAISS locally, OpenSearch k-NN in the service);
`parents` maps a parent id to its text (a JSON file locally, S3 in the service). Plain Python on purpose: the
service's Lambda functions import this module with nothing but the runtime's boto3.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlruntime.rag.split import sentences
from mlruntime.sagemaker import Target, invoke_json

Vector = Sequence[float]


def dot(a: Vector, b: Vector) -> float:
    return float(sum(x * y for x, y in zip(a, b, strict=True)))

RETRIEVERS = ("plain", "parent")
COMPRESSIONS = ("none", "embeddings", "llm-extract", "llm-filter")
MAX_QUESTION_CHARS = 2000


@dataclass
class Passage:
    source: str  # the child or parent id
    text: str
    score: float = 0.0


@dataclass
class Retrieved:
    passages: list[Passage]
    sources: list[str] = field(default_factory=list)
    #: Set by compression: words of context kept and removed.
    kept_words: int | None = None
    removed_words: int | None = None

    def context(self) -> str:
        """The passages labelled [1], [2], ... so the answer can cite the ones it used (`cited`)."""
        return "\n\n".join(f"[{i}] {p.text}" for i, p in enumerate(self.passages, start=1))

    def cited(self, answer: str) -> list[Passage]:
        """The passages the answer cites by label; none for an answer that says it does not know; all when the
        model cited nothing (it cannot then be told which it used)."""
        labels = sorted({int(n) for n in re.findall(r"\[(\d+)\]", answer) if 1 <= int(n) <= len(self.passages)})
        if labels:
            return [self.passages[i - 1] for i in labels]
        if re.search(r"\b(do not|don't|cannot) know\b|\bnot (contain|in) the context\b", answer, re.I):
            return []
        return list(self.passages)

    def tokens(self) -> int:
        return sum(len(p.text.split()) for p in self.passages)


def retrieve(question_vector: Vector, *, retriever: str, k: int,
             search: Callable[[Vector, int], list[tuple[dict[str, Any], float]]],
             parents: Callable[[str], str]) -> Retrieved:
    """`plain`: the k best children. `parent`: their parents, each once, in the order of their best child
    (the children are searched 3 k deep, so k distinct parents are found when they exist)."""
    if retriever == "plain":
        hits = search(question_vector, k)
        return Retrieved([Passage(h["id"], h["text"], s) for h, s in hits], [h["id"] for h, _ in hits])
    hits = search(question_vector, 3 * k)
    seen: dict[str, float] = {}
    for hit, score in hits:
        seen.setdefault(hit["parent_id"], score)
    chosen = list(seen.items())[:k]
    return Retrieved([Passage(pid, parents(pid), s) for pid, s in chosen], [pid for pid, _ in chosen])


#: Sentences `compress_embeddings` keeps by default. A fixed similarity threshold does not transfer between
#: embedders: BGE's similarities sit in [0.6, 1] (BAAI's FAQ), so the 0.2 used before removed nothing. A budget
#: of the best sentences compresses with any embedder.
TOP_SENTENCES = 8
#: BGE's instruction for retrieval queries (BAAI, bge-large-en model card); passages are embedded without it.
BGE_QUERY_INSTRUCTION = "Represent this sentence for searching relevant passages: "


def compress_embeddings(retrieved: Retrieved, question_vector: Vector,
                        embed: Callable[[Sequence[str]], Sequence[Vector]], *, threshold: float = float("-inf"),
                        top_n: int | None = TOP_SENTENCES, budget_words: int | None = None) -> Retrieved:
    """Keep the sentences of the retrieved passages most similar to the question: the best `top_n` (and above
    `threshold`, within `budget_words` when given), then put back in document order, grouped under their
    parent, so the LLM reads each parent's kept sentences as the parent had them. `removed_words` and
    `kept_words` of the result say how much was compressed away."""
    candidates = [(p.source, s) for p in retrieved.passages for s in sentences(p.text)]
    before = retrieved.tokens()
    if not candidates:
        return Retrieved([], retrieved.sources, kept_words=0, removed_words=before)
    scores = [dot(v, question_vector) for v in embed([s for _, s in candidates])]
    chosen, words = [], 0
    for i in sorted(range(len(scores)), key=lambda i: -scores[i]):
        if scores[i] < threshold or (top_n is not None and len(chosen) >= top_n):
            break
        n = len(candidates[i][1].split())
        if budget_words is not None and words + n > budget_words:
            continue
        chosen.append(i)
        words += n
    grouped: dict[str, list[int]] = {}
    for i in sorted(chosen):  # document order: parents in retrieval order, sentences as they were
        grouped.setdefault(candidates[i][0], []).append(i)
    kept = [Passage(source, " ".join(candidates[i][1] for i in idx), max(float(scores[i]) for i in idx))
            for source, idx in grouped.items()]
    return Retrieved(kept, retrieved.sources, kept_words=words, removed_words=before - words)


EXTRACT_PROMPT = ("<s>[INST] Copy, word for word, the sentences of the context below that help answer the question."
                  " Add nothing else. If no sentence helps, answer NONE.\n\nQuestion: {question}\n\nContext:\n{context}"
                  " [/INST]")
FILTER_PROMPT = ("<s>[INST] Does the context below help answer the question? Answer YES or NO only.\n\n"
                 "Question: {question}\n\nContext:\n{context} [/INST]")
ANSWER_PROMPT = ("<s>[INST] Answer the question using only the context below, and cite the passages you used by "
                 "their number in brackets, e.g. [2]. If the context does not contain the answer, say you do not "
                 "know.\n\nContext:\n{context}\n\nQuestion: {question} [/INST]")


def compress_llm(retrieved: Retrieved, question: str, generate: Callable[[str], str], mode: str) -> Retrieved:
    """`llm-extract`: each passage reduced to what the LLM copies out of it (dropped on NONE);
    `llm-filter`: each passage kept whole or dropped on the LLM's YES / NO.

    The k calls run concurrently (one wave, not k sequential calls: see `worst_case_seconds`); the passages
    keep their order."""
    from concurrent.futures import ThreadPoolExecutor

    prompt = EXTRACT_PROMPT if mode == "llm-extract" else FILTER_PROMPT
    passages = retrieved.passages
    with ThreadPoolExecutor(max_workers=max(1, len(passages))) as pool:
        answers = list(pool.map(lambda p: generate(prompt.format(question=question, context=p.text)).strip(),
                                passages))
    kept = []
    for p, answer in zip(passages, answers, strict=True):
        if mode == "llm-extract":
            if answer and not answer.upper().startswith("NONE"):
                kept.append(Passage(p.source, answer, p.score))
        elif answer.upper().startswith("YES"):
            kept.append(p)
    return Retrieved(kept, retrieved.sources)


#: Generation budgets (new tokens): a compression call copies a few sentences or says YES/NO; the answer is a
#: paragraph. They bound the synchronous query's worst case (`worst_case_seconds`).
COMPRESSION_MAX_TOKENS = 128
ANSWER_MAX_TOKENS = 384


@dataclass(frozen=True)
class Latency:
    """A conservative latency model of the query path (seconds). Assumed, not measured here (no endpoint):
    Mixtral 8x7B on TGI prefills a ~2k-token prompt in well under 1.5 s and decodes a single stream at 25+
    tokens/s on the instances the catalog allows; concurrent requests of one wave are batched by TGI
    (continuous batching) and are counted at that same rate. `fixed_s`: embedding the question, the k-NN
    search and reading k parents from S3."""

    prefill_s: float = 1.5
    decode_tokens_per_s: float = 25.0
    fixed_s: float = 1.5

    def call(self, max_new_tokens: int) -> float:
        return self.prefill_s + max_new_tokens / self.decode_tokens_per_s


#: API Gateway REST integrations time out at 29 s (API Gateway quotas; raising it needs a quota request and may
#: lower the account's throttle). The synchronous path must fit, with a margin for Lambda's own overhead.
INTEGRATION_TIMEOUT_S = 29.0
SYNC_MARGIN_S = 2.0


def worst_case_seconds(compression: str, latency: Latency = Latency()) -> float:  # noqa: B008 - frozen default
    """The synchronous query's worst case: fixed work, one concurrent wave of compression calls (LLM modes),
    then the answer; every call generating its whole budget."""
    total = latency.fixed_s + latency.call(ANSWER_MAX_TOKENS)
    if compression in ("llm-extract", "llm-filter"):
        total += latency.call(COMPRESSION_MAX_TOKENS)
    return total


def tgi_generate(client: Any, target: Target, max_new_tokens: int = ANSWER_MAX_TOKENS) -> Callable[[str], str]:
    """A prompt -> text function over a TGI endpoint (Mixtral), through a `sagemaker-runtime` client."""

    def generate(prompt: str) -> str:
        body = {"inputs": prompt, "parameters": {"max_new_tokens": max_new_tokens, "temperature": 0.01,
                                                 "do_sample": False, "return_full_text": False}}
        answer = invoke_json(client, target, body)
        if isinstance(answer, list) and answer and isinstance(answer[0], dict):
            return str(answer[0].get("generated_text", ""))
        raise ValueError(f"endpoint {target} answered without generated_text: {str(answer)[:200]}")

    return generate
