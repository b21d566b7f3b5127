"""SageMaker JumpStart endpoints from the pinned catalog (or the public hub at deploy time)."""
