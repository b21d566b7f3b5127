"""Scripts mounted into training pods (from a ConfigMap); they run in the training image, not in this package."""
