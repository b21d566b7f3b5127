"""SageMaker domain behind IAM Identity Center for SageMaker Canvas."""
