"""`SecureBucket`: the one way this platform creates S3 buckets."""
