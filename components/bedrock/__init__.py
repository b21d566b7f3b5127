"""Bedrock: Titan Image Generator fine-tuning, Titan Text continued pre-training, Provisioned Throughput,
invocation logging."""
