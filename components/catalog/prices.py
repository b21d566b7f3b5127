"""Hourly prices (USD, us-east-1) of what the platform runs around the clock, each with its source and date.

EC2 and SageMaker instance prices live with their instance facts (instance_types.py,
sagemaker_instances.py). Pay-per-request services (Lambda, API Gateway, DynamoDB on-demand, S3) have
no idle hourly cost and are left out of the hourly model.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    usd_per_hour: float
    source: str
    date: str
    estimate: bool = False


EKS_CONTROL_PLANE = Price(0.10, "https://aws.amazon.com/eks/pricing/ (standard support)", "2025-06-01")
#: A cluster whose Kubernetes version is past standard support (catalog/eks.py KUBERNETES_CALENDAR).
EKS_CONTROL_PLANE_EXTENDED = Price(0.60, "https://aws.amazon.com/eks/pricing/ (extended support)", "2026-12-04")
NAT_GATEWAY = Price(0.045, "https://aws.amazon.com/vpc/pricing/ (NAT gateway hour, data extra)", "2025-06-01")
INTERFACE_ENDPOINT_PER_AZ = Price(0.01, "https://aws.amazon.com/privatelink/pricing/ (per endpoint per AZ)",
                                  "2025-06-01")
#: Not read from the AWS pricing page (unreachable here): the us-east-1 rate third parties quote from it
#: (cloudburn.io, March 2026). Review before relying on it.
OPENSEARCH_SERVERLESS_OCU = Price(0.24, "https://aws.amazon.com/opensearch-service/pricing/ (serverless OCU-hour, "
                                  "us-east-1; quoted by third parties, estimate)", "2026-03-01")
KMS_KEY = Price(round(1.0 / 730, 5), "https://aws.amazon.com/kms/pricing/ ($1 per key-month)", "2025-06-01")

#: Provisioned Throughput per model unit-hour for custom Titan Image Generator G1 models, by commitment.
#: The public page lists these per model; they are estimates until checked against your account's quote.
BEDROCK_PT_TITAN_IMAGE: dict[str, Price] = {
    "none": Price(23.40, "https://aws.amazon.com/bedrock/pricing/ (Titan Image Generator, custom)", "2025-02-01",
                  estimate=True),
    "OneMonth": Price(21.18, "https://aws.amazon.com/bedrock/pricing/ (Titan Image Generator, custom)",
                      "2025-02-01", estimate=True),
    "SixMonths": Price(16.20, "https://aws.amazon.com/bedrock/pricing/ (Titan Image Generator, custom)",
                       "2025-02-01", estimate=True),
}

#: FSx for Lustre PERSISTENT_2 SSD, USD per GB-month by throughput tier (MB/s per TiB), us-east-1; billed on the
#: provisioned capacity whether used or not (https://aws.amazon.com/fsx/lustre/pricing/, checked 2026-12-04).
FSX_LUSTRE_PERSISTENT_2_GB_MONTH = {125: 0.145, 250: 0.210, 500: 0.340, 1000: 0.600}
FSX_LUSTRE_SOURCE = "https://aws.amazon.com/fsx/lustre/pricing/ (PERSISTENT_2 SSD, per GB-month / 730 h)"
HOURS_PER_MONTH = 730
