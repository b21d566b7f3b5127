"""SageMaker real-time inference instance facts: GPUs (drives SM_NUM_GPUS), local NVMe, price.

Prices: Amazon SageMaker pricing, real-time inference, US East (N. Virginia), USD per hour
(https://aws.amazon.com/sagemaker/pricing/, `PRICE_DATE`). Instances with local NVMe storage do not
accept `VolumeSizeInGB` (CreateEndpointConfig rejects it), hence `nvme`. vCPUs and memory (GiB) are those of
the EC2 type of the same name (Amazon EC2 instance types, "Accelerated computing" / "General purpose" /
"Compute optimized" specifications); inference components size their compute requirements from them.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICE_SOURCE = "https://aws.amazon.com/sagemaker/pricing/ (real-time inference, us-east-1)"
PRICE_DATE = "2025-06-01"


@dataclass(frozen=True)
class SageMakerInstance:
    name: str
    gpus: int
    nvme: bool
    hourly_usd: float
    vcpus: int
    memory_gib: int
    #: No list price checked: the EC2 price of the same type plus SageMaker's usual ~25 % (review before relying).
    price_is_estimate: bool = False
    #: Memory of one GPU (EC2 accelerated computing specifications: T4 16 GiB, V100 16 GiB, A10G 24 GiB, A100 40 GiB).
    gpu_memory_gib: int = 0


_ALL = (
    SageMakerInstance("ml.m5.xlarge", 0, False, 0.23, 4, 16),
    SageMakerInstance("ml.c5.2xlarge", 0, False, 0.408, 8, 16),
    SageMakerInstance("ml.c6i.xlarge", 0, False, 0.204, 4, 8, price_is_estimate=True),
    SageMakerInstance("ml.g4dn.2xlarge", 1, True, 0.94, 8, 32, price_is_estimate=True, gpu_memory_gib=16),
    SageMakerInstance("ml.g5.8xlarge", 1, True, 3.06, 32, 128, price_is_estimate=True, gpu_memory_gib=24),
    SageMakerInstance("ml.g4dn.xlarge", 1, True, 0.736, 4, 16, gpu_memory_gib=16),
    SageMakerInstance("ml.p3.2xlarge", 1, False, 3.825, 8, 61, gpu_memory_gib=16),
    SageMakerInstance("ml.g5.xlarge", 1, True, 1.408, 4, 16, gpu_memory_gib=24),
    SageMakerInstance("ml.g5.2xlarge", 1, True, 1.515, 8, 32, gpu_memory_gib=24),
    SageMakerInstance("ml.g5.4xlarge", 1, True, 2.03, 16, 64, gpu_memory_gib=24),
    SageMakerInstance("ml.g5.12xlarge", 4, True, 7.09, 48, 192, gpu_memory_gib=24),
    SageMakerInstance("ml.g5.24xlarge", 4, True, 10.18, 96, 384, gpu_memory_gib=24),
    SageMakerInstance("ml.g5.48xlarge", 8, True, 20.36, 192, 768, gpu_memory_gib=24),
    SageMakerInstance("ml.p4d.24xlarge", 8, True, 37.688, 96, 1152, gpu_memory_gib=40),
)

SAGEMAKER_INSTANCES: dict[str, SageMakerInstance] = {i.name: i for i in _ALL}
