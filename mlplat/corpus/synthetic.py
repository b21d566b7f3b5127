"""A synthetic financial corpus for the example, the tests and the benchmark (no real articles or filings).

`generate(n, seed)` yields records in the input format: financial news on listed outlets and on keyword URLs,
off-domain news, SEC-style filings with "Item N." sections and table-label lines, and exact and near
duplicates of earlier records. Every record says what it is in `kind`, so tests can check what was kept.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

OUTLETS = ("reuters.com", "ft.com", "bloomberg.com")
KEYWORDS = ("finance", "stock-market", "earnings")
FINANCE = ("revenue", "margin", "guidance", "quarter", "dividend", "bond", "yield", "equity", "analyst",
           "inflation", "rate", "liquidity", "credit", "earnings", "forecast", "shareholders", "capital",
           "debt", "valuation", "portfolio", "hedge", "volatility", "merger", "acquisition", "buyback")
OTHER = ("match", "goal", "recipe", "garden", "weather", "concert", "travel", "museum", "puppy", "league",
         "season", "flavour", "harvest", "festival", "mountain", "river", "coach", "stadium", "oven", "tomato")
GLUE = ("the", "a", "of", "and", "in", "to", "for", "with", "on", "as", "by", "while", "after", "before")
DOMAIN_CONFIG = {"outlets": list(OUTLETS), "keywords": list(KEYWORDS), "filingMinWords": 5,
                 "nearDuplicateThreshold": 0.8}


def sentence(rng: random.Random, vocab: tuple[str, ...], words: int = 14) -> str:
    out = [rng.choice(vocab) if i % 2 == 0 else rng.choice(GLUE) for i in range(words)]
    return " ".join(out).capitalize() + "."


def paragraph(rng: random.Random, vocab: tuple[str, ...], sentences: int = 6) -> str:
    return " ".join(sentence(rng, vocab, rng.randint(10, 18)) for _ in range(sentences))


def filing_text(rng: random.Random, paragraphs: int = 2) -> str:
    parts = []
    for item in ("1", "1A", "7"):
        parts.append(f"Item {item}. {rng.choice(('Business', 'Risk Factors', 'Management Discussion'))}")
        for _ in range(paragraphs):
            parts.append(paragraph(rng, FINANCE, 4))
            parts += [f"Total {rng.choice(FINANCE)} {rng.randint(100, 999)},{rng.randint(100, 999)}",
                      f"{rng.randint(2019, 2024)} {rng.randint(2019, 2024)}", "Figure 3"]
    return "\n".join(parts)


def near_copy(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    i = rng.randrange(len(words))
    words[i] = rng.choice(FINANCE)
    return " ".join(words)


def generate(n: int, seed: int = 7, paragraphs: int = 3) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    originals: list[dict[str, Any]] = []
    for i in range(n):
        roll = rng.random()
        if originals and roll < 0.05:
            src = rng.choice(originals)
            yield {**src, "id": f"doc-{i}", "kind": "exact-duplicate", "of": src["id"]}
            continue
        if originals and roll < 0.10:
            src = rng.choice(originals)
            yield {**src, "id": f"doc-{i}", "text": near_copy(rng, src["text"]), "kind": "near-duplicate",
                   "of": src["id"]}
            continue
        if roll < 0.35:
            host = rng.choice(OUTLETS)
            sub = rng.choice(("www.", "markets.", ""))
            record = {"url": f"https://{sub}{host}/business/{i}", "kind": "outlet",
                      "text": "\n\n".join(paragraph(rng, FINANCE) for _ in range(paragraphs))}
        elif roll < 0.55:
            keyword = rng.choice(KEYWORDS)
            record = {"url": f"https://news.example.com/{keyword}/article-{i}", "kind": "keyword",
                      "text": "\n\n".join(paragraph(rng, FINANCE) for _ in range(paragraphs))}
        elif roll < 0.70:
            record = {"source": "filing", "kind": "filing", "text": filing_text(rng, max(1, paragraphs // 2))}
        else:
            record = {"url": f"https://www.example.org/{rng.choice(OTHER)}/{i}", "kind": "off-domain",
                      "text": "\n\n".join(paragraph(rng, OTHER) for _ in range(paragraphs))}
        record["id"] = f"doc-{i}"
        originals.append(record)
        yield record
