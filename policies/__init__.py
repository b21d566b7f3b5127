"""CrossGuard policy pack of ml-platform; rules live in `policies.rules`, the pack in `__main__.py`."""
