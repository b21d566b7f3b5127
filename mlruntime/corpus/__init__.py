"""The corpus domain config: what the curation keeps, read by `mlplat corpus` and by the stack checks."""
