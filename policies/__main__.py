"""The policy pack. Constructing `PolicyPack` serves gRPC forever: nothing else may import this file.

Run by the Pulumi CLI: `pulumi preview --policy-pack policies --policy-pack-config policies/config/<env>.json`.
It prints the port it listens on and then answers the analyzer protocol; `policies/pack.py` holds what
it serves, and the offline evaluator runs the same servicer in-process.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pulumi_policy import PolicyPack  # noqa: E402

from policies import memo  # noqa: E402
from policies.pack import ALL_POLICIES, ENFORCEMENT_LEVEL, PACK_NAME  # noqa: E402

memo.install()  # each request decoded once, not once per policy (as the offline check judges)
PolicyPack(name=PACK_NAME, enforcement_level=ENFORCEMENT_LEVEL, policies=ALL_POLICIES)
