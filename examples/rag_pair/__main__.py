"""A RAG pair of SageMaker endpoints in a VPC you already have, from ml-platform's components."""

import pulumi
import pulumi_aws as aws

from components.catalog.jumpstart import lookup
from components.context import Env, NetworkRef
from components.jumpstart_endpoint.args import Autoscaling, EndpointArgs
from components.jumpstart_endpoint.component import JumpStartEndpoint

cfg = pulumi.Config()
identity = aws.get_caller_identity_output()
env = Env(name="rag", region=cfg.require("region"), account_id=identity.account_id, partition="aws",
          kms_key_arn=cfg.require("kmsKeyArn"))
network = NetworkRef(cfg.require("vpcId"), cfg.require("vpcCidr"), private_subnets=cfg.require_object("subnetIds"))
for name, model in (("llm", "huggingface-llm-mixtral-8x7b-instruct"),
                    ("embeddings", "huggingface-sentencesimilarity-bge-large-en")):
    args = EndpointArgs(name=name, model_id=model, autoscaling=Autoscaling(min_capacity=1, max_capacity=2))
    endpoint = JumpStartEndpoint(name, args, env=env, network=network, spec=lookup(model))
    pulumi.export(f"{name}Endpoint", endpoint.endpoint_name)
