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


def _t(*args, **kwargs) -> InstanceType:
    return InstanceType(*args, **kwargs)


_TYPES = (
    # name, accelerator, model, count, acc GiB, vCPU, GiB, EFA, cards, NVMe disks, GB each, USD/h
    _t("p4d.24xlarge", "nvidia", "A100 40GB", 8, 320, 96, 1152, 4, 4, 8, 1000, 21.957642),
    _t("p4de.24xlarge", "nvidia", "A100 80GB", 8, 640, 96, 1152, 4, 4, 8, 1000, 27.447, price_is_estimate=True),
    _t("p5.48xlarge", "nvidia", "H100 80GB", 8, 640, 192, 2048, 32, 32, 8, 3840, 55.04),
    _t("p5e.48xlarge", "nvidia", "H200 141GB", 8, 1128, 192, 2048, 32, 32, 8, 3840, 63.296, price_is_estimate=True),
    _t("p5en.48xlarge", "nvidia", "H200 141GB", 8, 1128, 192, 2048, 16, 16, 8, 3840, 63.296),
    _t("p6-b200.48xlarge", "nvidia", "B200 179GB", 8, 1432, 192, 2048, 8, 9, 8, 3840, 113.9328),
    _t("g5.xlarge", "nvidia", "A10G 24GB", 1, 24, 4, 16, 0, 1, 1, 250, 1.006),
    _t("g5.2xlarge", "nvidia", "A10G 24GB", 1, 24, 8, 32, 0, 1, 1, 450, 1.212),
    _t("g5.12xlarge", "nvidia", "A10G 24GB", 4, 96, 48, 192, 1, 1, 1, 3800, 5.672),
    _t("g5.48xlarge", "nvidia", "A10G 24GB", 8, 192, 192, 768, 1, 1, 2, 3800, 16.288),
    _t("g6e.12xlarge", "nvidia", "L40S 48GB", 4, 192, 48, 384, 1, 1, 2, 1900, 10.493),
    _t("g6e.48xlarge", "nvidia", "L40S 48GB", 8, 384, 192, 1536, 4, 4, 4, 1900, 30.131),
    _t("trn1.32xlarge", "neuron", "Trainium", 16, 512, 128, 512, 8, 8, 4, 1900, 21.50),
    _t("trn1n.32xlarge", "neuron", "Trainium", 16, 512, 128, 512, 16, 16, 4, 1900, 24.78),
    # System node group types.
    _t("m5.large", "none", "", 0, 0, 2, 8, 0, 1, 0, 0, 0.096),
    _t("m5.xlarge", "none", "", 0, 0, 4, 16, 0, 1, 0, 0, 0.192),
    _t("c5.2xlarge", "none", "", 0, 0, 8, 16, 0, 1, 0, 0, 0.34),
    _t("c5.4xlarge", "none", "", 0, 0, 16, 32, 0, 1, 0, 0, 0.68),
)

INSTANCE_TYPES: dict[str, InstanceType] = {t.name: t for t in _TYPES}

ACCELERATED_TYPES: tuple[str, ...] = tuple(t.name for t in _TYPES if t.accelerator != "none")
SYSTEM_TYPES: tuple[str, ...] = tuple(t.name for t in _TYPES if t.accelerator == "none")


def lookup(name: str) -> InstanceType:
    """The facts for `name`; a ValueError listing the supported types otherwise."""
    try:
        return INSTANCE_TYPES[name]
    except KeyError:
        raise ValueError(f"unsupported instance type; expected one of: {', '.join(INSTANCE_TYPES)}") from None
