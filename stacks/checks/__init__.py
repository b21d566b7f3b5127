"""Checks that span keys, one module per concern; each returns (key path, message) pairs.

They run after the structural validation of `stacks/config.py` succeeded (pydantic models in each component's
`args.py`, which check one component's own keys), so they can rely on types. What is checked where:

- `network`: AZs of the region; the VPC endpoints of what runs without internet (Canvas, RAG functions);
- `cluster`: node groups and shared storage in the network's AZs, reservations, the API endpoint the deployer
  reaches, the system nodes, and the training and Ray jobs on the node groups;
- `endpoints`: SageMaker endpoints against their pinned JumpStart specs, and models sharing an instance;
- `bedrock`: customization and Provisioned Throughput against each base model's regions, limits and calendar;
- `services`: the RAG service, KPI reports and live chat on what the stack defines;
- `base`: the two checks several of them make (a name among those defined, an AZ among the network's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stacks.checks.base import Problems
from stacks.checks.bedrock import bedrock_checks
from stacks.checks.cluster import cluster_checks, ray_job_checks, training_job_checks
from stacks.checks.endpoints import endpoint_checks
from stacks.checks.network import network_checks
from stacks.checks.services import service_checks

if TYPE_CHECKING:
    from stacks.model import PlatformConfig

__all__ = ["Problems", "cross_checks"]


def cross_checks(cfg: PlatformConfig, *, offline: bool = False) -> Problems:
    """Every check that spans keys. `offline`: only pinned facts may be used (no JumpStart look-ups)."""
    return (network_checks(cfg) + cluster_checks(cfg) + training_job_checks(cfg) + ray_job_checks(cfg)
            + endpoint_checks(cfg, offline) + bedrock_checks(cfg) + service_checks(cfg))
