"""Lambda handlers of the KPI report (Python 3.12: boto3 and the standard library only)."""
