"""The RAG handlers' `service` fixture (tests/rag/rag_support.py), for every test module here."""

from tests.rag.rag_support import service  # noqa: F401
