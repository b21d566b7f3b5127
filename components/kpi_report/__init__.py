"""Generative-AI KPI report pipeline: DORA metrics -> Bedrock summary -> S3 -> email."""
