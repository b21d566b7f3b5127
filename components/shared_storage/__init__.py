"""FSx for Lustre shared by the training pods: checkpoints and data, optionally linked to an S3 prefix."""
