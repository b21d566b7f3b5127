"""Tokenizers for counting and chunking, and the token-shard format the cluster path reads.

The default needs no download: a byte-level tokenizer (one token per UTF-8 byte, 256 ids) built in-process with
the `tokenizers` package. Its counts are an upper bound for byte-level BPE and for SentencePiece vocabularies with
byte fallback, whose tokens each cover at least one byte, so a chunk that fits in bytes fits the model. Pass the
target model's `tokenizer.json` (`--tokenizer`) for exact counts and for shards a model can train on.

Documents are separated in the shards by the tokenizer's end-of-text token (`eos_id`): the byte tokenizer has
`<|endoftext|>` as id 256; a `tokenizer.json` names its own (`--eos-token`, or the first of END_OF_TEXT it has).

Shards: `tokens/<rank>.bin` holds the chunks' token ids back to back (little-endian uint16, or uint32 when the
vocabulary is larger than 65,536); `tokens/<rank>.idx` holds each chunk's end offset (uint64); `tokens/index.json`
names the tokenizer, dtype and counts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers

BYTES = "bytes"
#: End-of-text tokens of common vocabularies, in the order they are looked for: GPT-2 / Pythia / GPT-NeoX and the
#: byte tokenizer, Llama 2 / Mistral / Mixtral (SentencePiece), Llama 3, Gemma.
END_OF_TEXT = ("<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>")


def _byte_alphabet() -> list[str]:
    return sorted(pre_tokenizers.ByteLevel.alphabet(), key=lambda c: (len(c.encode()), c))


def byte_tokenizer() -> Tokenizer:
    vocab = {char: index for index, char in enumerate(_byte_alphabet())}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([END_OF_TEXT[0]])  # id 256, after the 256 bytes
    return tokenizer


@lru_cache(maxsize=4)
def load(spec: str) -> Tokenizer:
    """The tokenizer of `spec`, encoding special tokens' text as ordinary text: a document that contains the
    characters "<|endoftext|>" must not end in the middle (only `Chunker` puts the end-of-text id)."""
    tokenizer = _load(spec)
    tokenizer.encode_special_tokens = True
    return tokenizer


def _load(spec: str) -> Tokenizer:
    """`bytes` (the built-in default), a path to a Hugging Face `tokenizer.json`, or its URL (s3://, read through
    fsspec: the cluster path); never a hub download."""
    if spec == BYTES:
        return byte_tokenizer()
    if "://" in spec:
        from datatrove.io import open_file

        try:
            with open_file(spec, "rt", encoding="utf-8") as handle:
                return Tokenizer.from_str(handle.read())
        except Exception as exc:  # fsspec's and tokenizers' errors
            raise ValueError(f"--tokenizer: cannot read a tokenizer.json from {spec} ({exc})") from None
    path = Path(spec)
    if not path.is_file():
        raise ValueError(f"--tokenizer: expected a tokenizer.json file, found no file at {spec}")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception on a malformed file
        raise ValueError(f"--tokenizer: {spec} is not a Hugging Face tokenizer.json ({exc})") from None


def eos_id(tokenizer: Tokenizer, token: str | None = None) -> int:
    """The id of `token`, or of the first END_OF_TEXT token the vocabulary has."""
    for name in (token,) if token else END_OF_TEXT:
        found = tokenizer.token_to_id(name)
        if found is not None:
            return found
    if token:
        raise ValueError(f"--eos-token: the tokenizer has no token {token!r}")
    raise ValueError(f"--eos-token: the tokenizer has none of {', '.join(END_OF_TEXT)}; name its end-of-text token "
                     "(documents are separated by it in the token shards)")


def dtype_for(tokenizer: Tokenizer) -> str:
    return "uint16" if tokenizer.get_vocab_size() <= 1 << 16 else "uint32"
