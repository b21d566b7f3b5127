"""Bedrock: Titan Image Generator fine-tuning, Provisioned Throughput, invocation logging."""
