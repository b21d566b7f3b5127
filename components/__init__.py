"""Reusable Pulumi component resources of ml-platform.

Each capability lives in its own module or package; its typed arguments live in a
light module (pydantic only) so that `stacks/config.py` can validate configuration
without importing any Pulumi provider.
"""
