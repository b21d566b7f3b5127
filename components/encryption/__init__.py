"""The environment's customer-managed KMS key."""
