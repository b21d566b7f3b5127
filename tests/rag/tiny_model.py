"""A tiny sentence-embedding model built by the tests, in the layout of a sentence-transformers model exported to
ONNX: `tokenizer.json` (a Hugging Face WordLevel tokenizer), `onnx/model.onnx` (token ids -> token states: an
embedding lookup times the attention mask), and optionally `1_Pooling/config.json`.

Each topic's words are one-hot on that topic's dimension, so the right answers are known: texts about one topic
embed to that topic's axis, whatever their length, and mean pooling must ignore the padding.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

TOPICS = {
    "glacier": ["glacier", "ice", "snow", "crevasse"],
    "vineyard": ["vineyard", "grape", "wine", "harvest"],
    "railway": ["railway", "train", "track", "station"],
    "orchard": ["orchard", "apple", "blossom", "pear"],
}
FILLER = ["the", "report", "access", "code", "is", "of", "a", "and", "office", "regional", "assigned", "what", "to"]


def build(folder: Path, *, pooling: str | None = None) -> Path:
    import onnx
    from onnx import TensorProto, helper
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["[PAD]", "[UNK]", *FILLER, *(w for ws in TOPICS.values() for w in ws)]
    vocab = {w: i for i, w in enumerate(words)}
    dim = len(TOPICS) + 1  # one axis per topic, one for every other word
    table = np.zeros((len(words), dim), dtype=np.float32)
    for axis, topic_words in enumerate(TOPICS.values()):
        for w in topic_words:
            table[vocab[w], axis] = 1.0
    for w in ["[UNK]", *FILLER]:
        table[vocab[w], dim - 1] = 0.2  # filler: a short, shared axis
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    tokenizer.save(str(folder / "tokenizer.json"))

    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "input_ids"], ["states"]),
         helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
         helper.make_node("Unsqueeze", ["mask_f", "axis"], ["mask_3d"]),
         helper.make_node("Mul", ["states", "mask_3d"], ["last_hidden_state"])],
        "tiny-embedder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", dim])],
        initializer=[helper.make_tensor("table", TensorProto.FLOAT, table.shape, table.flatten().tolist()),
                     helper.make_tensor("axis", TensorProto.INT64, [1], [2])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    (folder / "onnx").mkdir(exist_ok=True)
    onnx.save(model, str(folder / "onnx" / "model.onnx"))
    if pooling:
        (folder / "1_Pooling").mkdir(exist_ok=True)
        (folder / "1_Pooling" / "config.json").write_text(json.dumps({
            "word_embedding_dimension": dim, "pooling_mode_cls_token": pooling == "cls",
            "pooling_mode_mean_tokens": pooling == "mean"}))
    return folder
