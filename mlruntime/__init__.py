"""Code that runs in the cloud and in local mode: below `components/`, shipped inside Lambda bundles.

RAG splitting and retrieval (`rag/`), embedders (`embedding.py`), the corpus domain config
(`corpus/config.py`) and strict file readers (`files.py`). It imports nothing of this project but itself:
the RAG handlers, the stack checks and the `mlplat` command line all import it from here.
"""
