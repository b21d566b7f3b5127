"""Recall and context size of plain chunk retrieval, parent retrieval, and parent retrieval with embeddings
compression, with the local embedder, on long documents whose facts sit in their middles.

The corpus is generated (seeded): 50 documents of about 6,000 characters, each about one project that every
paragraph names, with one fact sentence ("The <attribute> of <project> is <value>.") in the middle; one question
per document asks for its fact. The fact spans two paragraphs (the sentence that matches the question, then the
value), and two other paragraphs repeat the question's words without the value. A setup finds a fact when the
value is in the context it would send the LLM.
Context size is counted in words (whitespace tokens). Usage: python bench/rag_retrieval.py [--budget 120]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROJECTS = ["Aster", "Birch", "Cobalt", "Dune", "Ember", "Fjord", "Garnet", "Harbor", "Indigo", "Juniper"]
ATTRIBUTES = ["ledger code", "launch city", "budget owner", "vendor id", "audit month"]
FILLER = ("milestone", "review", "quarter", "roadmap", "stakeholder", "deliverable", "timeline", "risk",
          "dependency", "workshop", "metric", "capacity", "forecast", "status", "handover", "scope")


def corpus(seed: int = 5) -> list[tuple[str, str, str, str]]:
    """(doc id, text, question, answer value) for 50 documents."""
    rng = random.Random(seed)
    out = []
    for i in range(50):
        project = f"{PROJECTS[i % 10]}-{i // 10}"
        attribute = ATTRIBUTES[i % 5]
        value = f"{rng.choice(['KX', 'QM', 'ZT', 'LV'])}{rng.randint(1000, 9999)}"
        paragraphs = []
        for j in range(14):
            words = [rng.choice(FILLER) for _ in range(60)]
            paragraphs.append(f"Project {project} update: " + " ".join(words) + ".")
            if j in (2, 10):  # distractors: the question's words, no value
                paragraphs[-1] += f" The {attribute} review for project {project} was postponed again."
        # The fact spans two paragraphs: the sentence that matches the question, then the value.
        paragraphs[7:7] = [f"Finance settled the {attribute} of project {project} this quarter after a long "
                           f"{rng.choice(FILLER)} {rng.choice(FILLER)} discussion.",
                           f"The value recorded was {value}, as the controller confirmed in writing."]
        out.append((f"project-{i:02d}.txt", "\n\n".join(paragraphs), f"What is the {attribute} of project {project}?",
                    value))
    return out


TOPICS = ["glacier", "monastery", "orchard", "railway", "vineyard", "lighthouse", "quarry", "harbour", "observatory",
          "brewery", "tannery", "aqueduct", "granary", "foundry", "apiary", "sawmill", "ferry", "citadel", "mint",
          "reservoir", "canal", "windmill", "chapel", "library", "market"]
REPORT_WORDS = ("regional", "office", "assigned", "inspection", "annual", "report", "maintenance", "staff",
                "visitors", "budget", "schedule", "records", "committee", "safety", "access", "season", "north",
                "district", "survey", "permit", "code", "archive", "review", "council")


def topic_corpus(count: int = 100, seed: int = 11) -> list[tuple[str, str, str, str]]:
    """(doc id, text, question, answer) for `count` reports of about 1,500 words, each about one site (a topic
    word and a number), its access code in one buried sentence, and near-miss distractors: the same sentence
    shape about the site's badge (no code), and filler made of the question's own words."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        site = f"{TOPICS[i % len(TOPICS)]} {i // len(TOPICS) + 1}"
        code = f"{rng.choice(['KX', 'QM', 'ZT', 'LV'])}{rng.randint(1000, 9999)}"
        paragraphs = [f"Annual report on the {site} site." if j == 0 else
                      " ".join(rng.choice(REPORT_WORDS) for _ in range(90)) + "." for j in range(16)]
        paragraphs[5] += f" The {site} access badge assigned by the regional office is still pending."
        paragraphs[11] += f" The access code assigned by the regional office to the {site} is {code}."
        out.append((f"report-{i:03d}.txt", "\n\n".join(paragraphs),
                    f"What is the access code assigned to the {site}?", code))
    return out


def topics(k: int = 4, embedder=None) -> list[tuple[str, float]]:
    """Recall@k parents per search mode on the topic corpus (the default local configuration is BM25); `embedder`:
    the dense side (default: the hashing embedder; a `ModelEmbedder` with `--model`)."""
    from mlruntime.rag.local import SEARCHES, LocalIndex, ingest_folder
    from mlruntime.rag.retrieval import retrieve

    docs = topic_corpus()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for doc_id, text, _, _ in docs:
            (folder / doc_id).write_text(text)
        index = LocalIndex(Path(tmp) / "index", embedder)
        ingest_folder(index, folder)
        embed_query = getattr(index.embedder, "embed_queries", index.embedder.embed)
        for mode in SEARCHES:
            hits = 0
            for _, _, question, code in docs:
                vector = embed_query([question])[0]
                found = retrieve(vector, retriever="parent", k=k, search=index.searcher(question, mode),
                                 parents=index.parent)
                hits += code in found.context()
            rows.append((mode, hits / len(docs)))
    return rows


def main() -> None:
    from mlruntime.rag.local import LocalIndex, ingest_folder
    from mlruntime.rag.retrieval import compress_embeddings, retrieve

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget", type=int, default=120, help="context budget in words for the compared setups")
    p.add_argument("--model", type=Path, metavar="FOLDER",
                   help="also measure a sentence-embedding model from this folder (tokenizer.json + ONNX export, e.g. "
                        "BAAI/bge-small-en-v1.5) as the dense and hybrid searches' embedder")
    args = p.parse_args()
    docs = corpus()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for doc_id, text, _, _ in docs:
            (folder / doc_id).write_text(text)
        index = LocalIndex(Path(tmp) / "index")
        counts = ingest_folder(index, folder)
        print(f"corpus: {counts['documents']} documents, {counts['parents']} parents, {counts['children']} children; "
              f"{len(docs)} questions")
        rows = []

        def run(label: str, retriever: str, k: int, compress: bool = False, budget: int | None = None) -> None:
            hits, words = 0, 0
            for _, _, question, value in docs:
                vector = index.embedder.embed([question])[0]
                found = retrieve(vector, retriever=retriever, k=k, search=index.search, parents=index.parent)
                if compress:
                    found = compress_embeddings(found, vector, index.embedder.embed, threshold=0.0,
                                                budget_words=budget)
                elif budget is not None:  # plain chunks, as many as fit the budget
                    kept, used = [], 0
                    for passage in found.passages:
                        n = len(passage.text.split())
                        if used + n > budget:
                            break
                        kept.append(passage)
                        used += n
                    found.passages = kept
                hits += value in found.context()
                words += found.tokens()
            rows.append((label, hits / len(docs), words / len(docs)))

        for k in (1, 2, 4):
            run(f"plain chunks, k={k}", "plain", k)
        for k in (1, 2):
            run(f"parent documents, k={k}", "parent", k)
        run(f"plain chunks within {args.budget} words", "plain", 8, budget=args.budget)
        run(f"parents k=2 + embeddings compression within {args.budget} words", "parent", 2, compress=True,
            budget=args.budget)
        print(f"\n{'setup':<58} {'recall':>7} {'words':>7}")
        for label, recall, words in rows:
            print(f"{label:<58} {recall:>7.2f} {words:>7.0f}")
        plain, compressed = rows[-2][1], rows[-1][1]
        verdict = "beats" if compressed > plain else "does not beat"
        print(f"\nat {args.budget} words of context, parent retrieval + compression {verdict} plain chunks on "
              f"recall ({compressed:.2f} vs {plain:.2f})")
    print(f"\ntopic corpus: {len(topic_corpus())} reports of ~1,500 words, one buried access code each, near-miss "
          "distractors; recall of the code in the top 4 parents")
    for mode, recall in topics():
        print(f"  search {mode:<7} {recall:.2f}")
    if args.model:
        from mlruntime.embedding import ModelEmbedder
        from mlruntime.rag.retrieval import BGE_QUERY_INSTRUCTION

        embedder = ModelEmbedder(args.model, query_instruction=BGE_QUERY_INSTRUCTION)
        print(f"with {embedder.name} as the embedder:")
        for mode, recall in topics(embedder=embedder):
            print(f"  search {mode:<7} {recall:.2f}")


if __name__ == "__main__":
    main()
