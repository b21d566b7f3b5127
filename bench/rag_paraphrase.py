"""Recall on paraphrased questions: which search of the RAG local mode finds the document a question is about
when the question shares no content word with it (tests/rag/paraphrase.json: 20 documents, 20 questions, known
answers; the test checks the no-shared-word property).

Each search (BM25, dense, hybrid) with each embedder (the hashing fallback, the packaged sentence-embedding model
of the `rag` extra, and a model folder given with --model) is asked every question; a question is found at k when
its document's parent is among the top k. Usage: python bench/rag_paraphrase.py [--model FOLDER]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "rag" / "paraphrase.json"


def load() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


def recall(embedder=None, ks: tuple[int, ...] = (1, 3)) -> dict[tuple[str, int], float]:
    """{(search, k): share of questions whose document is in the top k parents}."""
    from mlruntime.rag.local import SEARCHES, LocalIndex, ingest_folder
    from mlruntime.rag.retrieval import retrieve

    data = load()
    out: dict[tuple[str, int], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for name, text in data["documents"].items():
            (folder / name).write_text(text, encoding="utf-8")
        index = LocalIndex(Path(tmp) / "index", embedder)
        ingest_folder(index, folder)
        embed_query = getattr(index.embedder, "embed_queries", index.embedder.embed)
        vectors = embed_query([q["question"] for q in data["questions"]])
        for mode in SEARCHES:
            for k in ks:
                hits = 0
                for q, vector in zip(data["questions"], vectors, strict=True):
                    found = retrieve(vector, retriever="parent", k=k, search=index.searcher(q["question"], mode),
                                     parents=index.parent)
                    hits += any(s.split("#")[0] == q["document"] for s in found.sources)
                out[(mode, k)] = hits / len(data["questions"])
    return out


def main() -> None:
    from mlruntime.embedding import LocalEmbedder, PackagedEmbedder

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, metavar="FOLDER",
                   help="also measure a sentence-embedding model from this folder (tokenizer.json + ONNX export)")
    args = p.parse_args()
    embedders = [LocalEmbedder(), PackagedEmbedder()]
    if args.model:
        from mlruntime.embedding import ModelEmbedder
        from mlruntime.rag.retrieval import BGE_QUERY_INSTRUCTION

        embedders.append(ModelEmbedder(args.model, query_instruction=BGE_QUERY_INSTRUCTION))
    data = load()
    print(f"{len(data['documents'])} documents, {len(data['questions'])} paraphrased questions "
          "(no content word shared with their document)")
    print(f"\n{'embedder':<28} {'search':<8} {'recall@1':>9} {'recall@3':>9}")
    for embedder in embedders:
        for (mode, k), value in sorted(recall(embedder).items()):
            if k == 1:
                row = [mode, value]
            else:
                print(f"{embedder.name:<28} {row[0]:<8} {row[1]:>9.2f} {value:>9.2f}")


if __name__ == "__main__":
    main()
