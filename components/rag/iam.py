"""The RAG functions' permissions (pure, unit-tested): each reaches only the bucket prefixes, the endpoints and
the collection it needs. OpenSearch Serverless needs both `aoss:APIAccessAll` on the collection (IAM) and a
data access policy naming the role (OpenSearch Service developer guide, "Data access control")."""

from __future__ import annotations

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


def function_policy(role: str, *, bucket_arn: str, collection_arn: str, endpoint_arns: list[str], key_arn: str,
                    log_group_arn: str, dlq_arn: str | None = None) -> dict[str, Any]:
    """`ingest`: read documents, replace parents, embed, write the index, dead-letter; `query`: read parents,
    embed and generate, read the index. Both write their own log group and X-Ray traces (active tracing:
    CreateFunction refuses a role that cannot put trace segments)."""
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
            {"Sid": "ReplaceParents", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"],
             "Resource": f"{bucket_arn}/parents/*"},
            {"Sid": "ListParents", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arn,
             "Condition": {"StringLike": {"s3:prefix": ["parents/*"]}}},
            {"Sid": "DeadLetters", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": dlq_arn},
        ]
    else:
        statements.append({"Sid": "ReadParents", "Effect": "Allow", "Action": ["s3:GetObject"],
                           "Resource": f"{bucket_arn}/parents/*"})
    return {"Version": "2012-10-17", "Statement": statements}
