"""Advanced RAG over the Mixtral + BGE pair: parent-document retrieval and contextual compression.

`split`, `retrieval` and `compression` are plain Python (NumPy for vectors), shared by the local mode
(`mlplat rag`, a FAISS index on disk) and the deployed service's Lambda handlers (OpenSearch Serverless).
"""
