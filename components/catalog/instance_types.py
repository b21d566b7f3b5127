"""EC2 instance facts the platform relies on: accelerators, EFA interfaces, instance store, price.

Sources (checked 2026-11):
- GPUs, vCPUs, memory, network cards, maximum EFA interfaces, instance store: the EC2 User Guide,
  "Accelerated computing instance specifications" and "Network specifications", which are also
  what `aws ec2 describe-instance-types` returns as `GpuInfo`, `VCpuInfo`, `MemoryInfo`,
  `NetworkInfo.MaximumNetworkCards`, `NetworkInfo.EfaInfo.MaximumEfaInterfaces` and
  `InstanceStorageInfo`. EFA counts match aws-do-eks `pytorchjob/fsdp/.env` ("P4 use 4, P5 use 32")
  and the awsome-distributed-training health-check README (p5en 16, p6-b200 8).
- Prices: Amazon EC2 On-Demand pricing, US East (N. Virginia), Linux, USD per hour, after the
  June 2025 P4/P5 price reduction (`PRICE_DATE`). `price_is_estimate` marks types without a public
  on-demand list price (sold mostly as capacity blocks); their figure is the closest list price.

`InstanceType.max_efa_interfaces` is what sizes launch-template interfaces: on p6-b200 the network
cards exceed the EFA count (eksctl #8685), so interfaces are never derived from the card count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from components.catalog.data import load

PRICE_SOURCE = "https://aws.amazon.com/ec2/pricing/on-demand/ (us-east-1, Linux)"
PRICE_DATE = "2025-06-05"


@dataclass(frozen=True)
class InstanceType:
    """Facts about one EC2 instance type."""

    name: str
    accelerator: Literal["nvidia", "neuron", "none"]
    accelerator_model: str
    accelerators: int
    accelerator_memory_gib: int
    vcpus: int
    memory_gib: int
    max_efa_interfaces: int
    network_cards: int
    nvme_disks: int
    nvme_disk_gb: int
    hourly_usd: float
    price_is_estimate: bool = False

    @property
    def efa_supported(self) -> bool:
        return self.max_efa_interfaces > 0

    @property
    def has_instance_store(self) -> bool:
        return self.nvme_disks > 0

    @property
    def gpu_resource(self) -> str | None:
        """The Kubernetes extended resource the device plugin advertises for this type."""
        return {"nvidia": "nvidia.com/gpu", "neuron": "aws.amazon.com/neuron"}.get(self.accelerator)


#: On-demand USD/hour (`PRICE_SOURCE`, `PRICE_DATE`); types without a public list price are estimates.
PRICES: dict[str, float] = {
    "p4d.24xlarge": 21.957642, "p4de.24xlarge": 27.447, "p5.48xlarge": 55.04, "p5e.48xlarge": 63.296,
    "p5en.48xlarge": 63.296, "p6-b200.48xlarge": 113.9328, "g5.xlarge": 1.006, "g5.2xlarge": 1.212,
    "g5.12xlarge": 5.672, "g5.48xlarge": 16.288, "g6e.12xlarge": 10.493, "g6e.48xlarge": 30.131,
    "trn1.32xlarge": 21.50, "trn1n.32xlarge": 24.78, "m5.large": 0.096, "m5.xlarge": 0.192, "c5.2xlarge": 0.34,
    "c5.4xlarge": 0.68,
}
PRICE_ESTIMATES = frozenset({"p4de.24xlarge", "p5e.48xlarge"})


def _types() -> tuple[InstanceType, ...]:
    """Hardware facts from `data/instance_types.json` (regenerated from the EC2 API), with their prices."""
    facts = load("instance_types")["types"]
    missing = sorted(set(facts) ^ set(PRICES))
    if missing:
        raise ValueError(f"instance types without both facts and a price: {', '.join(missing)}")
    return tuple(
        InstanceType(name, f["accelerator"], f["acceleratorModel"], f["accelerators"], f["acceleratorMemoryGiB"],
                     f["vcpus"], f["memoryGiB"], f["maxEfaInterfaces"], f["networkCards"], f["nvmeDisks"],
                     f["nvmeDiskGB"], PRICES[name], price_is_estimate=name in PRICE_ESTIMATES)
        for name, f in facts.items()
    )


_TYPES = _types()

INSTANCE_TYPES: dict[str, InstanceType] = {t.name: t for t in _TYPES}

ACCELERATED_TYPES: tuple[str, ...] = tuple(t.name for t in _TYPES if t.accelerator != "none")
SYSTEM_TYPES: tuple[str, ...] = tuple(t.name for t in _TYPES if t.accelerator == "none")


def lookup(name: str) -> InstanceType:
    """The facts for `name`; a ValueError listing the supported types otherwise."""
    try:
        return INSTANCE_TYPES[name]
    except KeyError:
        raise ValueError(f"unsupported instance type; expected one of: {', '.join(INSTANCE_TYPES)}") from None
