"""The RAG functions' permissions (pure, unit-tested): each reaches only the bucket prefixes, the endpoints and
the collection it needs. OpenSearch Serverless needs both `aoss:APIAccessAll` on the collection (IAM) and a
data access policy naming the role (OpenSearch Service developer guide, "Data access control")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def data_access_policy(collection: str, index: str, writer_arn: str, reader_arn: str) -> list[dict[str, Any]]:
    return [
        {"Description": "ingestion: create the index, write and delete chunks",
         "Rules": [{"ResourceType": "collection", "Resource": [f"collection/{collection}"],
                    "Permission": ["aoss:DescribeCollectionItems"]},
                   {"ResourceType": "index", "Resource": [f"index/{collection}/{index}"],
                    "Permission": ["aoss:CreateIndex", "aoss:DescribeIndex", "aoss:UpdateIndex",
                                   "aoss:ReadDocument", "aoss:WriteDocument"]}],
         "Principal": [writer_arn]},
        {"Description": "query: read chunks",
         "Rules": [{"ResourceType": "index", "Resource": [f"index/{collection}/{index}"],
                    "Permission": ["aoss:DescribeIndex", "aoss:ReadDocument"]}],
         "Principal": [reader_arn]},
    ]


@dataclass(frozen=True)
class ServiceArns:
    """What the service's functions reach (resolved ARNs)."""

    bucket: str
    collection: str
    llm_endpoint: str
    embeddings_endpoint: str
    key: str
    dlq: str
    lease_table: str
    #: The query function's own ARN (pattern): it invokes itself for asynchronous queries.
    query_function: str
    #: The queue S3 events wait in until ingestion takes them (an SQS event source of the ingest function).
    ingest_queue: str
    #: The inference components (ARNs) a call names when the endpoint serves through one (scale to zero, shared):
    #: InvokeEndpoint's resource types are the endpoint (required) and the inference component (Service
    #: Authorization Reference, Amazon SageMaker AI actions), so both are granted.
    llm_component: str | None = None
    embeddings_component: str | None = None


def function_policy(role: str, arns: ServiceArns, log_group_arn: str) -> dict[str, Any]:
    """`ingest`: read documents (and list them, for a sync), replace parents and manifests, embed, write the
    index, hold per-document leases, take S3 events from its queue; `query`: read parents, embed and generate,
    read the index, keep async jobs' answers and invoke itself for them. Both write their own log group and X-Ray traces
    (active tracing: CreateFunction refuses a role that cannot put trace segments)."""
    bucket_arn, collection_arn, key_arn = arns.bucket, arns.collection, arns.key
    endpoint_arns = [arns.llm_endpoint, arns.embeddings_endpoint] if role == "query" else [arns.embeddings_endpoint]
    components = [arns.llm_component, arns.embeddings_component] if role == "query" else [arns.embeddings_component]
    endpoint_arns += [c for c in components if c]
    statements: list[dict[str, Any]] = [
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{log_group_arn}:*"},
        {"Sid": "Tracing", "Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
         "Resource": "*"},
        {"Sid": "Collection", "Effect": "Allow", "Action": ["aoss:APIAccessAll"], "Resource": collection_arn},
        {"Sid": "Endpoints", "Effect": "Allow", "Action": ["sagemaker:InvokeEndpoint"], "Resource": endpoint_arns},
        {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arn},
    ]
    if role == "ingest":
        statements += [
            {"Sid": "ReadDocuments", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": f"{bucket_arn}/documents/*"},
            {"Sid": "ReplaceParents", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
             "Resource": f"{bucket_arn}/parents/*"},
            # Without ListBucket a HEAD of a missing document is a 403, not a 404 (S3 hides existence). Not
            # conditioned on s3:prefix: a HEAD or GET carries no prefix, so such a condition would never match it.
            {"Sid": "ListBucket", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arn},
            {"Sid": "Leases", "Effect": "Allow",
             "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
             "Resource": arns.lease_table},
            # Lambda's SQS poller runs as the function's role (Lambda developer guide, "Using Lambda with Amazon SQS":
            # execution role permissions).
            {"Sid": "IngestQueue", "Effect": "Allow",
             "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                        "sqs:ChangeMessageVisibility"], "Resource": arns.ingest_queue},
        ]
    else:
        statements += [
            {"Sid": "ReadParents", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": f"{bucket_arn}/parents/*"},
            {"Sid": "Jobs", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
             "Resource": f"{bucket_arn}/jobs/*"},
            # A missing job is a 404 (not a 403) only with ListBucket, unconditioned (a GET carries no prefix).
            {"Sid": "ListBucket", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arn},
            {"Sid": "InvokeSelf", "Effect": "Allow", "Action": ["lambda:InvokeFunction"],
             "Resource": arns.query_function},
            # An asynchronous query that failed every retry goes to the dead-letter queue (on-failure destination).
            {"Sid": "AsyncFailures", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": arns.dlq},
        ]
    return {"Version": "2012-10-17", "Statement": statements}
