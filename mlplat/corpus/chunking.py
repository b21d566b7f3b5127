"""Concatenate, tokenize and chunk: the last block of the curation pipeline.

Two outputs per rank, from the same documents:
- token ids for the cluster (`tokens/`, see `tokens.py`): each document tokenized on its own and followed by the
  tokenizer's end-of-text token, the documents' ids joined into one stream and cut every `max_tokens` ids, as
  pre-training packs them (datatrove 0.10 `pipeline/tokens/tokenizer.py` `DocumentTokenizer`: `eos_token`
  appended to each document through a `TemplateProcessing` post-processor). Without it the model would learn
  that one filing's last sentence continues into the next one's first;
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


class Chunker(PipelineStep):
    name = "🧱 Tokenize and chunk"
    type = "🔢 - TOKENIZER"

    def __init__(self, work: str, output: str, tokenizer: str, max_tokens: int, eos_token: str | None = None) -> None:
        super().__init__()
        self.work, self.output, self.tokenizer, self.max_tokens = work, output, tokenizer, max_tokens
        self.eos_token = eos_token

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        tokenizer = tokenizers.load(self.tokenizer)
        dtype = np.uint16 if tokenizers.dtype_for(tokenizer) == "uint16" else np.uint32
        out, work = get_datafolder(self.output), get_datafolder(self.work)
        eos = tokenizers.eos_id(tokenizer, self.eos_token)
        # The stream's ids not yet written: arrays, joined only when a whole sequence is taken.
        pending: list[np.ndarray] = []
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

            def emit(ids: np.ndarray) -> None:
                bin_out.write(ids.astype(dtype).tobytes())
                ends.append((ends[-1] if ends else 0) + len(ids))
                self.stat_update("chunks")
                self.stat_update("tokens", value=len(ids))

            for doc in data:
                with self.track_time():
                    write(packer.add(doc.text))
                    text = doc.text.strip()
                    if text:
                        ids = tokenizer.encode(text, add_special_tokens=False).ids
                        pending.append(np.asarray([*ids, eos], dtype=np.int64))
                        count += len(ids) + 1
                    if count >= self.max_tokens:
                        stream = np.concatenate(pending)
                        whole = len(stream) - len(stream) % self.max_tokens
                        for start in range(0, whole, self.max_tokens):
                            emit(stream[start:start + self.max_tokens])
                        pending, count = [stream[whole:]], len(stream) - whole
                self.stat_update("documents")
                yield doc
            if count:
                emit(np.concatenate(pending))
            write(packer.flush())
            self.stat_update("record_tokens", value=packer.stats["tokens"])
            self.stat_update("words_dropped", value=packer.stats["wordsDropped"])
        with out.open(f"tokens/{rank:05d}.idx", "wb") as idx_out:
            idx_out.write(np.asarray(ends, dtype="<u8").tobytes())
