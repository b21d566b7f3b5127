"""The platform VPC (or an existing one): `args` is light, `component` imports the provider."""
