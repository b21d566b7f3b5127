"""`gpuCluster.nodeGroups[].karpenter`: how a Karpenter NodePool provisions and disrupts one GPU kind.

Only read for groups the cluster provisions with Karpenter (`gpuCluster.provisioner: karpenter`, or the group's own
`provisioner`). Durations use Karpenter's own format (Go durations without days, or `Never`), checked here so a bad
value is refused at `mlplat check` rather than by the API server's CRD validation at `pulumi up`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.base import StrictModel, problem

#: karpenter.sh/v1 NodePool `consolidateAfter` / `expireAfter`: `^(([0-9]+(s|m|h))+|Never)$` (the CRD's pattern).
DURATION = r"^(([0-9]+(s|m|h))+|Never)$"
#: Disruption budget `nodes`: a count or a percentage (the CRD's pattern `^((100|[0-9]{1,2})%|[0-9]+)$`).
BUDGET = r"^((100|[0-9]{1,2})%|[0-9]+)$"


class KarpenterPoolArgs(StrictModel):
    """Karpenter-only settings of one GPU pool."""

    workload: Literal["training", "serving"] = Field(
        default="training", description="What runs on the pool. Training pools never consolidate under-utilised "
                                        "nodes: consolidation would evict a running job (Karpenter disruption docs).")
    on_demand_fallback: bool = Field(
        default=False, description="With a capacityReservationId: launch on-demand when the reservation is full "
                                   "or gone (capacity types reserved, on-demand). Off: reserved only.")
    consolidation: Literal["WhenEmpty", "WhenEmptyOrUnderutilized"] = Field(
        default="WhenEmpty", description="NodePool disruption.consolidationPolicy. WhenEmptyOrUnderutilized only "
                                         "for serving pools.")
    consolidate_after: str = Field(
        default="10m", pattern=DURATION, description="How long a node stays empty before Karpenter removes it.")
    disruption_budget: str = Field(
        default="1", pattern=BUDGET, description="At most this many nodes (or percent) disrupted at once.")
    expire_after: str = Field(
        default="Never", pattern=DURATION,
        description="Node lifetime (e.g. 720h) or Never. A capacity block's nodes end with the block (Karpenter "
                    "drains them 10 minutes before EC2 reclaims them), so capacity-block pools keep Never.")

    @model_validator(mode="after")
    def _training_never_consolidates(self) -> KarpenterPoolArgs:
        if self.workload == "training" and self.consolidation == "WhenEmptyOrUnderutilized":
            raise problem("consolidation", "a training pool consolidates only empty nodes: consolidating "
                                           "under-utilised ones evicts running jobs; expected WhenEmpty (or workload: "
                                           "serving); found WhenEmptyOrUnderutilized")
        return self
