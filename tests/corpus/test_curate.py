"""The curation pipeline end to end on a corpus whose every record's fate is known."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from mlplat.corpus.pipeline import curate, expand_inputs
from mlplat.corpus.report import Progress
from mlplat.corpus.synthetic import DOMAIN_CONFIG, filing_text, paragraph
from mlruntime.corpus.config import CurateOptions, parse_domain_config

FIN = ("revenue", "margin", "guidance", "dividend", "bond", "yield", "equity", "credit", "earnings", "capital")


def _news(i: int, url: str, seed: int) -> dict:
    import random

    rng = random.Random(seed)
    return {"id": f"n{i}", "url": url, "text": "\n\n".join(paragraph(rng, FIN) for _ in range(3))}


def known_corpus(folder: Path) -> dict[str, list[dict]]:
    """Two input files; ids say what must happen to each record."""
    import random

    kept = [_news(1, "https://www.reuters.com/markets/a", 1), _news(2, "https://markets.ft.com/data/b", 2),
            _news(3, "https://blog.example.com/stock-market/c", 3), _news(4, "news.example.com/finance?id=4", 4)]
    off = [_news(5, "https://www.example.org/sports/stockholm-derby", 5),  # "stock" inside a word: not a keyword
           _news(6, "https://notreuters.com/x", 6), {"id": "n7", "text": "No address given for this one at all."}]
    exact = {**kept[0], "id": "dup-exact"}
    near = {**kept[1], "id": "dup-near", "text": kept[1]["text"].replace("revenue", "margin", 1)}
    filing = {"id": "f1", "source": "filing", "text": filing_text(random.Random(9))}
    first = [kept[0], off[0], kept[1], filing, off[2]]
    second = [kept[2], exact, off[1], kept[3], near]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in first))
    with gzip.open(folder / "b.jsonl.gz", "wt") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in second))
    return {"kept": kept, "off": off, "filing": [filing]}


def trained_tokenizer(path: Path, texts: list[str]) -> Path:
    """A small BPE tokenizer trained in-process (nothing from a hub), saved as a tokenizer.json."""
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=400, special_tokens=["[UNK]", "<|endoftext|>"],
                                                       show_progress=False))
    tok.save(str(path))
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("curate")
    corpus = known_corpus(root / "in")
    tokenizer = trained_tokenizer(root / "tokenizer.json", [r["text"] for v in corpus.values() for r in v])
    files, problems = expand_inputs((str(root / "in"),))
    assert not problems
    opts = CurateOptions(inputs=(str(root / "in"),), output=str(root / "out"), max_tokens=200,
                         domain=parse_domain_config(DOMAIN_CONFIG, "domain"), tokenizer=str(tokenizer))
    stats = curate(opts, files, progress=Progress(enabled=False))
    return {"root": root, "stats": stats, "corpus": corpus, "tokenizer": Tokenizer.from_file(str(tokenizer))}


def test_domain_filter_and_dedup_counts(run: dict) -> None:
    counts = run["stats"]["counts"]
    assert counts["read"] == 10
    # the exact and the near copy are on outlets too
    assert (counts["keptOutlet"], counts["keptKeyword"], counts["keptFiling"]) == (4, 2, 1)
    assert (counts["offDomain"], counts["noUrl"]) == (2, 1)
    assert counts["filingSections"] == 3  # Item 1, 1A, 7
    filing = run["corpus"]["filing"][0]["text"].splitlines()
    labels = [line for line in filing if len(line.split()) < 5 and not line.startswith("Item ")]
    assert labels and counts["linesRemoved"] == len(labels)
    assert counts["duplicatesRemoved"] == 2  # the exact and the near copy
    assert counts["selected"] == 4 + 3


def test_bedrock_records_are_exactly_input_and_fit_the_token_limit(run: dict) -> None:
    lines = (run["root"] / "out/bedrock/train.jsonl").read_text().splitlines()
    assert len(lines) == run["stats"]["counts"]["chunks"] > 1
    text = ""
    for line in lines:
        record = json.loads(line)
        assert list(record) == ["input"] and record["input"].strip()
        assert len(run["tokenizer"].encode(record["input"], add_special_tokens=False).ids) <= 200
        text += record["input"]
    kept_words = " ".join(r["text"] for r in run["corpus"]["kept"]).split()
    assert all(word in text for word in kept_words[:50])
    assert "stockholm" not in text.lower() and "No address given" not in text
    assert "Figure 3" not in text and "Item 1A." in text  # label lines gone, section headings kept


def test_token_shards_hold_the_chunks(run: dict) -> None:
    out = run["root"] / "out/tokens"
    index = json.loads((out / "index.json").read_text())
    assert index["dtype"] == "uint16" and index["maxTokens"] == 200
    lines = [json.loads(x)["input"] for x in (run["root"] / "out/bedrock/train.jsonl").read_text().splitlines()]
    sequences = []
    for shard in index["shards"]:
        data = np.fromfile(out / shard["data"], dtype="<u2")
        ends = np.fromfile(out / shard["index"], dtype="<u8")
        assert len(data) == shard["tokens"] and len(ends) == shard["sequences"]
        sequences += np.split(data, ends[:-1]) if len(ends) else []
    counts = run["stats"]["counts"]
    assert len(sequences) == counts["chunks"] and len(lines) == counts["records"]
    assert sum(len(s) for s in sequences) == counts["tokens"]
    assert all(len(seq) <= 200 for seq in sequences), "packed sequences of at most maxTokens"
    tokenizer = run["tokenizer"]
    assert all(len(tokenizer.encode(line, add_special_tokens=False).ids) <= 200 for line in lines)
    # Both outputs hold the same text: the token stream (cut anywhere) and the records (cut between sentences).
    streamed = tokenizer.decode(np.concatenate(sequences).tolist())
    assert "".join(streamed.split()) == "".join("".join(lines).split())
    assert 0.5 < counts["recordFill"] <= 1.0


def test_token_shards_end_every_document_with_the_end_of_text_token(run: dict) -> None:
    """As datatrove's DocumentTokenizer does: each document's ids, then the end-of-text id, documents back to back;
    split at that id, the stream gives the selected documents, each whole and in its own piece."""
    out = run["root"] / "out/tokens"
    index = json.loads((out / "index.json").read_text())
    tokenizer = run["tokenizer"]
    eos = tokenizer.token_to_id("<|endoftext|>")
    assert index["endOfText"] == {"token": "<|endoftext|>", "id": eos}
    stream = np.concatenate([np.fromfile(out / s["data"], dtype="<u2") for s in index["shards"]]).tolist()
    assert stream[-1] == eos and stream.count(eos) == run["stats"]["counts"]["selected"]
    documents, start = [], 0
    for at in [i for i, t in enumerate(stream) if t == eos]:
        documents.append(tokenizer.decode(stream[start:at]))
        start = at + 1
    kept = {r["text"] for r in run["corpus"]["kept"]}
    squash = "".join
    found = {squash(d.split()) for d in documents}
    assert {squash(t.split()) for t in kept} <= found, "every kept document is one piece of the stream"


def test_the_byte_tokenizer_has_an_end_of_text_token_and_a_tokenizer_without_one_is_refused(tmp_path: Path) -> None:
    from mlplat.corpus import tokens

    tokenizer = tokens.load(tokens.BYTES)
    assert tokens.eos_id(tokenizer) == 256 and tokenizer.get_vocab_size() == 257
    # The token's text inside a document is text: only the chunker puts the id.
    assert 256 not in tokenizer.encode("a <|endoftext|> b", add_special_tokens=False).ids
    plain = Tokenizer(models.BPE(unk_token="[UNK]"))
    plain.pre_tokenizer = pre_tokenizers.Whitespace()
    plain.train_from_iterator(["a b c"], trainers.BpeTrainer(vocab_size=50, special_tokens=["[UNK]", "</s>"],
                                                             show_progress=False))
    assert tokens.eos_id(plain) == plain.token_to_id("</s>")
    assert tokens.eos_id(plain, "[UNK]") == plain.token_to_id("[UNK]")
    with pytest.raises(ValueError, match="has no token '<eot>'"):
        tokens.eos_id(plain, "<eot>")
    bare = Tokenizer(models.BPE(unk_token="[UNK]"))
    with pytest.raises(ValueError, match=re.escape("has none of <|endoftext|>, </s>, <|end_of_text|>, <eos>; name")):
        tokens.eos_id(bare)


def test_stats_file_has_counts_and_time_per_stage(run: dict) -> None:
    stats = json.loads((run["root"] / "out/stats.json").read_text())
    assert stats["counts"] == run["stats"]["counts"]
    assert set(stats["seconds"]) >= {"prepare", "buckets", "cluster", "emit", "total"}
    minhash = stats["options"]["minhash"]
    assert (minhash["buckets"], minhash["hashesPerBucket"], minhash["threshold"]) == (84, 18, 0.8)
    assert minhash["recallAt0.85"] >= 0.99 and minhash["falsePositiveAt0.5"] < 0.01
    assert not (run["root"] / "out/.work").exists()


def test_output_on_a_remote_filesystem(tmp_path: Path) -> None:
    """Inputs, work folder and outputs go through fsspec: what runs against s3:// on the cluster runs here against
    fsspec's in-memory filesystem."""
    import fsspec

    corpus = known_corpus(tmp_path / "in")
    memory = fsspec.filesystem("memory")
    for path in (tmp_path / "in").iterdir():
        memory.pipe(f"/corpus/{path.name}", path.read_bytes())
    files, problems = expand_inputs(("memory://corpus/",))
    assert not problems and len(files) == 2
    opts = CurateOptions(inputs=("memory://corpus/",), output="memory://curated", max_tokens=256,
                         domain=parse_domain_config(DOMAIN_CONFIG, "domain"))
    stats = curate(opts, files, progress=Progress(enabled=False))
    assert stats["counts"]["selected"] == len(corpus["kept"]) + 3
    lines = memory.cat("/curated/bedrock/train.jsonl").decode().splitlines()
    assert len(lines) == stats["counts"]["records"] and not memory.exists("/curated/.work")
    memory.rm("/", recursive=True)
