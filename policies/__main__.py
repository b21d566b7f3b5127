"""The policy pack. Constructing `PolicyPack` serves gRPC forever: nothing else may import this file.

Run by the Pulumi CLI: `pulumi preview --policy-pack policies --policy-pack-config policies/config/<env>.json`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.rules import ALL_POLICIES  # noqa: E402

PolicyPack(name="ml-platform", enforcement_level=EnforcementLevel.MANDATORY, policies=ALL_POLICIES)
