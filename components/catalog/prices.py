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

#: Provisioned Throughput, USD per model unit-hour in us-east-1, by base model and commitment (none / OneMonth /
#: SixMonths). "For custom models, pricing is the same as the base model that it was customized from" (Bedrock user
#: guide, prov-throughput.html). The rates are the Amazon Bedrock pricing page's as two third-party copies of it
#: quote them (the page fills its tables in with JavaScript; not read from AWS here): estimates until checked
#: against your account's quote. A model without a rate here is shown unpriced, never as free.
PT_SOURCE = "https://aws.amazon.com/bedrock/pricing/ (Provisioned Throughput; third-party copies of the page)"
BEDROCK_PT: dict[str, dict[str, float]] = {
    "amazon.titan-image-generator-v2:0": {"none": 23.40, "OneMonth": 16.20, "SixMonths": 13.00},
    "amazon.titan-text-express-v1:0:8k": {"none": 20.50, "OneMonth": 18.40, "SixMonths": 14.80},
    "amazon.titan-text-lite-v1:0:4k": {"none": 7.10, "OneMonth": 6.40, "SixMonths": 5.10},
}


def throughput_price(base_model: str | None, commitment: str) -> Price | None:
    """One model unit-hour of Provisioned Throughput for `base_model` (a foundation model id), or None: no rate."""
    rate = (BEDROCK_PT.get(base_model or "") or {}).get(commitment or "none")
    return None if rate is None else Price(rate, PT_SOURCE, "2026-12-07", estimate=True)


#: The tag a Provisioned Throughput carries with its base model (a foundation model id): what prices it.
BASE_MODEL_TAG = "mlplat:base-model"


def throughput_hourly(base_model: str | None, units: float, commitment: str) -> tuple[float | None, str]:
    """(USD/hour, or None when no rate is known; what it is) of a Provisioned Throughput."""
    p = throughput_price(base_model, commitment)
    what = f"{int(units)} model unit(s) of {base_model or 'an unknown base model'}, commitment {commitment}"
    if p is None:
        return None, f"{what}: no rate in the catalog (components/catalog/prices.py BEDROCK_PT)"
    return units * p.usd_per_hour, f"{what} @ ${p.usd_per_hour:,.2f}/MU-h (estimate)"

#: FSx for Lustre PERSISTENT_2 SSD, USD per GB-month by throughput tier (MB/s per TiB), us-east-1; billed on the
#: provisioned capacity whether used or not (https://aws.amazon.com/fsx/lustre/pricing/, checked 2026-12-04).
FSX_LUSTRE_PERSISTENT_2_GB_MONTH = {125: 0.145, 250: 0.210, 500: 0.340, 1000: 0.600}
FSX_LUSTRE_SOURCE = "https://aws.amazon.com/fsx/lustre/pricing/ (PERSISTENT_2 SSD, per GB-month / 730 h)"
HOURS_PER_MONTH = 730
