"""What defines the pack: its name, default enforcement level and policies, in one place.

`policies/__main__.py` serves exactly this over gRPC (the Pulumi CLI's analyzer protocol), and the
offline evaluator (`policies/offline.py`) runs the same `pulumi_policy` servicer in-process, so the
two cannot judge differently.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel

from policies.rules import ALL_POLICIES

PACK_NAME = "ml-platform"
ENFORCEMENT_LEVEL = EnforcementLevel.MANDATORY
#: `PolicyPack` reports this version; the CLI prefers PulumiPolicy.yaml's when it has one.
PACK_VERSION = "0.0.1"

__all__ = ["ALL_POLICIES", "ENFORCEMENT_LEVEL", "PACK_NAME", "PACK_VERSION"]
