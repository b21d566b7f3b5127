"""Concatenate, tokenize and chunk: the last block of the curation pipeline.

Two outputs per rank, from the same documents:
- token ids for the cluster (`tokens/`, see `tokens.py`): the documents joined into one stream (a blank line
  between documents) and cut every `max_tokens` tokens, as pre-training packs them;
- text records for Bedrock (`{"input": ...}`, one line per record): whole sentences packed up to `max_tokens`
  tokens, never cut inside a word or a character (`records.py`).
"""

from __future__ import annotations

import json

import numpy as np
from datatrove.data import DocumentsPipeline
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep

from mlplat.corpus import tokens as tokenizers
from mlplat.corpus.records import RecordPacker

SEPARATOR = "\n\n"


class Chunker(PipelineStep):
    name = "🧱 Tokenize and chunk"
    type = "🔢 - TOKENIZER"

    def __init__(self, work: str, output: str, tokenizer: str, max_tokens: int) -> None:
        super().__init__()
        self.work, self.output, self.tokenizer, self.max_tokens = work, output, tokenizer, max_tokens

    def _fit(self, tokenizer, text: str) -> tuple[str, list[int]]:
        """The chunk's text and ids, trimmed until re-tokenizing it stays within `max_tokens` (a cut can split a
        merge or a multi-byte character, which re-tokenizes longer)."""
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        while len(ids) > self.max_tokens:
            cut = tokenizer.encode(text, add_special_tokens=False).offsets[self.max_tokens - 1][0]
            text = text[:cut].rstrip() if cut else text[: max(1, len(text) - 1)]
            ids = tokenizer.encode(text, add_special_tokens=False).ids
            self.stat_update("chunks_trimmed")
        return text, ids

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        tokenizer = tokenizers.load(self.tokenizer)
        dtype = np.uint16 if tokenizers.dtype_for(tokenizer) == "uint16" else np.uint32
        out, work = get_datafolder(self.output), get_datafolder(self.work)
        # Pending text as segments (text, token start offsets into it): cutting a chunk walks segments, not tokens.
        pending: list[tuple[str, np.ndarray]] = []
        count = 0
        ends: list[int] = []
        with (work.open(f"bedrock/{rank:05d}.jsonl", "wt") as text_out,
              out.open(f"tokens/{rank:05d}.bin", "wb") as bin_out):

            if self.tokenizer == tokenizers.BYTES:
                def tokens_in(text: str) -> int:
                    return len(text.encode("utf-8"))
            else:
                def tokens_in(text: str) -> int:
                    return len(tokenizer.encode(text, add_special_tokens=False).ids)
            packer = RecordPacker(self.max_tokens, tokens_in)

            def write(records) -> None:
                for record in records:
                    text_out.write(json.dumps({"input": record}, ensure_ascii=False) + "\n")
                    self.stat_update("records")

            def emit(text: str) -> None:
                text, ids = self._fit(tokenizer, text.strip())
                if not ids:
                    return
                bin_out.write(np.asarray(ids, dtype=dtype).tobytes())
                ends.append((ends[-1] if ends else 0) + len(ids))
                self.stat_update("chunks")
                self.stat_update("tokens", value=len(ids))

            def cut(need: int) -> str:
                """The first `need` pending tokens' text; what follows stays pending."""
                taken: list[str] = []
                while pending:
                    text, starts = pending[0]
                    if len(starts) <= need:
                        taken.append(text)
                        need -= len(starts)
                        pending.pop(0)
                        if need == 0:
                            break
                        continue
                    at = int(starts[need])
                    taken.append(text[:at])
                    pending[0] = (text[at:], starts[need:] - at)
                    break
                return "".join(taken)

            for doc in data:
                with self.track_time():
                    write(packer.add(doc.text))
                    piece = doc.text.strip() + SEPARATOR
                    starts = tokenizers.token_starts(self.tokenizer, tokenizer, piece)
                    if len(starts):
                        starts[0] = 0  # text before the first token (a skipped space) belongs to it
                        pending.append((piece, starts))
                        count += len(starts)
                    while count >= self.max_tokens:
                        emit(cut(self.max_tokens))
                        count -= self.max_tokens
                self.stat_update("documents")
                yield doc
            rest = cut(count)
            if rest.strip():
                emit(rest)
            write(packer.flush())
            self.stat_update("record_tokens", value=packer.stats["tokens"])
            self.stat_update("words_dropped", value=packer.stats["wordsDropped"])
        with out.open(f"tokens/{rank:05d}.idx", "wb") as idx_out:
            idx_out.write(np.asarray(ends, dtype="<u8").tobytes())
