"""Corpus curation for continual pre-training (`mlplat corpus curate`).

Needs the optional extra (`pip install '.[corpus]'`; Ray in `.[ray]`). Nothing outside this package imports it,
so the Pulumi program and `mlplat plan` run without datatrove, tokenizers or NumPy.
"""
