"""A RAG pair of SageMaker endpoints in a VPC you already have, from ml-platform's components."""

import pulumi
import pulumi_aws as aws

from components.catalog.jumpstart import lookup
from components.jumpstart_endpoint.args import Autoscaling, EndpointArgs
from components.jumpstart_endpoint.component import JumpStartEndpoint

cfg = pulumi.Config()
account = aws.get_caller_identity_output().account_id
for name, model in (("llm", "huggingface-llm-mixtral-8x7b-instruct"),
                    ("embeddings", "huggingface-sentencesimilarity-bge-large-en")):
    args = EndpointArgs(name=name, model_id=model, autoscaling=Autoscaling(min_capacity=1, max_capacity=2))
    endpoint = JumpStartEndpoint(
        name, args, lookup(model), region=cfg.require("region"), account_id=account, partition="aws",
        kms_key_arn=cfg.require("kmsKeyArn"), vpc_id=cfg.require("vpcId"), vpc_cidr=cfg.require("vpcCidr"),
        subnet_ids=cfg.require_object("subnetIds"),
    )
    pulumi.export(f"{name}Endpoint", endpoint.endpoint_name)
