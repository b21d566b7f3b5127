"""Bedrock text records: whole sentences within the limit, never half a word or half a character (property
tests over random Unicode text and record limits from 16 tokens up)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from mlplat.corpus.records import RecordPacker, units


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _pack(docs: list[str], limit: int) -> tuple[list[str], RecordPacker]:
    packer = RecordPacker(limit, _bytes)
    records = [r for doc in docs for r in packer.add(doc)]
    return records + list(packer.flush()), packer


words = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=12)
sentences = st.builds(lambda ws, end: " ".join(ws) + end, st.lists(words, min_size=1, max_size=25),
                      st.sampled_from([".", "!", "?", "…", "", ".\u201d"]))
documents = st.builds(lambda ps: "\n\n".join(" ".join(p) for p in ps),
                      st.lists(st.lists(sentences, min_size=1, max_size=6), min_size=1, max_size=4))


@settings(max_examples=100, deadline=None)
@given(st.lists(documents, min_size=1, max_size=4), st.integers(min_value=16, max_value=400))
def test_records_fit_decode_and_never_cut_a_word(docs, limit):
    records, packer = _pack(docs, limit)
    for record in records:
        assert _bytes(record) <= limit
        assert record == record.strip() and record
        assert json.loads(json.dumps({"input": record}, ensure_ascii=False))["input"] == record
        assert record.encode("utf-8").decode("utf-8") == record  # whole characters only
    # Every word of the input is in the records, whole and in order, except words longer than the limit.
    expected = [w for doc in docs for w in doc.split() if _bytes(w) <= limit]
    assert [w for r in records for w in r.split()] == expected
    assert packer.stats["wordsDropped"] == sum(1 for doc in docs for w in doc.split() if _bytes(w) > limit)


def test_units_rejoin_to_the_text_and_end_on_sentences_or_paragraphs():
    text = 'Rates rose. "Liquidity tightened." Next para?\n\nCredit spreads widened… fast'
    assert "".join(units(text)) == text
    assert units(text) == ["Rates rose. ", '"Liquidity tightened." ', "Next para?\n\n", "Credit spreads widened… ",
                           "fast"]


def test_records_end_on_sentences_and_fill_the_limit_well():
    sentence = "The central bank kept the policy rate at 4.5 percent while credit conditions tightened."
    docs = [" ".join([sentence] * 40) for _ in range(10)]
    records, packer = _pack(docs, 2048)
    assert all(r.endswith(".") for r in records), "a record ends where a sentence ends"
    # Whole sentences of 88 bytes leave at most one sentence unused per 2,048-byte record.
    assert packer.fill_rate() > 0.95, packer.fill_rate()
