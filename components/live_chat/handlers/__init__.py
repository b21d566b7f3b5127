"""Lambda handlers of the live chat (Python 3.12 runtime: boto3 and the standard library only).

Deployed as one code package: each function's handler is `<module>.handler`.
"""
