"""Corpus curation as a KubeRay `RayJob` on the GPU cluster."""
