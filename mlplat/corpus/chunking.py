"""Concatenate, tokenize and chunk: the last block of the curation pipeline.

A rank's documents are joined into one stream (a blank line between documents), cut every `max_tokens` tokens,
and each piece is written twice: as text for Bedrock (`{"input": ...}`, one line per chunk, never more than
`max_tokens` tokens when re-tokenized) and as token ids for the cluster (see `tokens.py`).
"""

from __future__ import annotations

import json
from array import array

from datatrove.data import DocumentsPipeline
from datatrove.io import get_datafolder
from datatrove.pipeline.base import PipelineStep

from mlplat.corpus import tokens as tokenizers

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
        dtype = "H" if tokenizers.dtype_for(tokenizer) == "uint16" else "I"
        out, work = get_datafolder(self.output), get_datafolder(self.work)
        pending_text, pending_ids, pending_offsets = "", [], []
        ends = array("Q")
        with (work.open(f"bedrock/{rank:05d}.jsonl", "wt") as text_out,
              out.open(f"tokens/{rank:05d}.bin", "wb") as bin_out):

            def emit(text: str) -> None:
                text, ids = self._fit(tokenizer, text.strip())
                if not ids:
                    return
                text_out.write(json.dumps({"input": text}, ensure_ascii=False) + "\n")
                bin_out.write(array(dtype, ids).tobytes())
                ends.append((ends[-1] if ends else 0) + len(ids))
                self.stat_update("chunks")
                self.stat_update("tokens", value=len(ids))

            for doc in data:
                with self.track_time():
                    piece = doc.text.strip() + SEPARATOR
                    encoding = tokenizer.encode(piece, add_special_tokens=False)
                    base = len(pending_text)
                    pending_text += piece
                    pending_ids += encoding.ids
                    pending_offsets += [(a + base, b + base) for a, b in encoding.offsets]
                    while len(pending_ids) >= self.max_tokens:
                        cut = pending_offsets[self.max_tokens][0] if len(pending_ids) > self.max_tokens \
                            else len(pending_text)
                        emit(pending_text[:cut])
                        rest = pending_offsets[self.max_tokens:]
                        pending_text = pending_text[cut:]
                        pending_ids = pending_ids[self.max_tokens:]
                        pending_offsets = [(a - cut, b - cut) for a, b in rest]
                self.stat_update("documents")
                yield doc
            if pending_text.strip():
                emit(pending_text)
        with out.open(f"tokens/{rank:05d}.idx", "wb") as idx_out:
            idx_out.write(ends.tobytes())
