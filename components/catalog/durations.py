"""Typical create durations (minutes) used for the deployment critical path of `mlplat graph`.

Sources: EKS user guide ("cluster creation takes about 10 minutes", managed node groups a few
minutes), SageMaker developer guide (real-time endpoint creation commonly 5–10 minutes; LLM images
and weights longer), VPC user guide (NAT gateway available after a few minutes), observed Pulumi
/ Terraform apply logs for the rest. Values are planning figures, not guarantees.
"""

from __future__ import annotations

TYPICAL_MINUTES: dict[str, float] = {
    "aws:eks/cluster:Cluster": 10.0,
    "aws:eks/nodeGroup:NodeGroup": 5.0,
    "aws:eks/addon:Addon": 2.0,
    "aws:sagemaker/endpoint:Endpoint": 8.0,
    "aws:sagemaker/domain:Domain": 4.0,
    "aws:ec2/natGateway:NatGateway": 2.0,
    "aws:ec2/vpcEndpoint:VpcEndpoint": 2.0,
    "kubernetes:helm.sh/v3:Release": 2.0,
    "kubernetes:kustomize/v2:Directory": 1.0,
    "aws:bedrock/provisionedModelThroughput:ProvisionedModelThroughput": 20.0,
    "aws:iam/role:Role": 0.2,
    "aws:kms/key:Key": 0.2,
    "aws:lambda/function:Function": 0.5,
    "aws:dynamodb/table:Table": 0.5,
}
DEFAULT_MINUTES = 0.1

#: Scaling a SageMaker inference component out from zero: the no-capacity alarm and step policy (~1 min), an
#: instance (~1.7 min) and the model copy (~2.3 min). AWS's launch post ("Unlock cost savings with the new scale
#: down to zero feature in SageMaker Inference", Dec 2024) measured 5.03 minutes for Llama 3 8B with container
#: caching, about 5 for Llama 3.1 8B and about 6 for 70B. No AWS figure exists for small CPU models.
SCALE_FROM_ZERO_TYPICAL_S = 302
#: `mlplat invoke` stops retrying a cold endpoint after this long: twice the 8B figure, above the 70B one.
SCALE_FROM_ZERO_LIMIT_S = 600
