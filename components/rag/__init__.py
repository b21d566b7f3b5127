"""The advanced RAG service: OpenSearch Serverless vector store, parents in S3, ingestion and query Lambdas."""
