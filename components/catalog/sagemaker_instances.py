"""SageMaker real-time inference instance facts: GPUs (drives SM_NUM_GPUS), local NVMe, price.

Prices: Amazon SageMaker pricing, real-time inference, US East (N. Virginia), USD per hour
(https://aws.amazon.com/sagemaker/pricing/, `PRICE_DATE`). Instances with local NVMe storage do not
accept `VolumeSizeInGB` (CreateEndpointConfig rejects it), hence `nvme`.
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
    #: No list price checked: the EC2 price of the same type plus SageMaker's usual ~25 % (review before relying).
    price_is_estimate: bool = False


_ALL = (
    SageMakerInstance("ml.m5.xlarge", 0, False, 0.23),
    SageMakerInstance("ml.c5.2xlarge", 0, False, 0.408),
    SageMakerInstance("ml.c6i.xlarge", 0, False, 0.204, price_is_estimate=True),
    SageMakerInstance("ml.g4dn.2xlarge", 1, True, 0.94, price_is_estimate=True),
    SageMakerInstance("ml.g5.8xlarge", 1, True, 3.06, price_is_estimate=True),
    SageMakerInstance("ml.g4dn.xlarge", 1, True, 0.736),
    SageMakerInstance("ml.p3.2xlarge", 1, False, 3.825),
    SageMakerInstance("ml.g5.xlarge", 1, True, 1.408),
    SageMakerInstance("ml.g5.2xlarge", 1, True, 1.515),
    SageMakerInstance("ml.g5.4xlarge", 1, True, 2.03),
    SageMakerInstance("ml.g5.12xlarge", 4, True, 7.09),
    SageMakerInstance("ml.g5.24xlarge", 4, True, 10.18),
    SageMakerInstance("ml.g5.48xlarge", 8, True, 20.36),
    SageMakerInstance("ml.p4d.24xlarge", 8, True, 37.688),
)

SAGEMAKER_INSTANCES: dict[str, SageMakerInstance] = {i.name: i for i in _ALL}
