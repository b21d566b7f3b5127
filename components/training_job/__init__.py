"""FSDP PyTorchJobs on the GPU cluster (Kubeflow Training Operator)."""
