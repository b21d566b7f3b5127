"""Lambda handlers of the RAG service (Python 3.12, the runtime's boto3 and `mlruntime.rag`, which ships with them)."""
