"""The RAG service in the staging plan: the collection's policies, the index dimension matching the embedder,
the wiring to both endpoints, IAM, the query API, and the pack's new rules."""

from __future__ import annotations

import io
import json
import zipfile

import jsonschema
import pytest

from components.catalog.jumpstart import EMBEDDING_DIMENSIONS
from components.rag.args import query_body_schema
from components.rag.component import lambda_code
from policies.rules.base import AOSS_SECURITY_POLICY, APIGW_METHOD
from policies.rules.security import API_METHODS_AUTHENTICATED, OPENSEARCH_SERVERLESS
from stacks.config import parse
from stacks.errors import ConfigError
from tests.helpers import ROOT, config, values
from tests.policies.helpers import check_resource

POLICY = "aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy"


@pytest.fixture(scope="module")
def staging(envs):
    return envs["staging"]


def test_collection_is_encrypted_private_and_its_data_policy_names_the_functions(staging):
    collection = staging.get("aws:opensearch/serverlessCollection:ServerlessCollection",
                             "mlplat-staging-rag-collection")
    assert collection["inputs"]["type"] == "VECTORSEARCH" and collection["inputs"]["standbyReplicas"] == "DISABLED"
    encryption = staging.get(POLICY, "mlplat-staging-rag-enc")
    assert encryption["urn"] in collection["dependencies"], "CreateCollection needs its encryption policy first"
    key = staging.get("aws:kms/key:Key", "mlplat-staging-data-key")["outputs"]["arn"]
    assert json.loads(encryption["inputs"]["policy"]) == {
        "Rules": [{"ResourceType": "collection", "Resource": ["collection/mlplat-staging-rag"]}],
        "AWSOwnedKey": False, "KmsARN": key}
    vpce = staging.get("aws:opensearch/serverlessVpcEndpoint:ServerlessVpcEndpoint", "mlplat-staging-rag-vpce")
    (network,) = json.loads(staging.get(POLICY, "mlplat-staging-rag-net")["inputs"]["policy"])
    assert network["AllowFromPublic"] is False and network["SourceVPCEs"] == [vpce["id"]]
    assert vpce["id"].startswith("vpce-") and collection["outputs"]["arn"].endswith(f":collection/{collection['id']}")
    data = json.loads(staging.get("aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy",
                                  "mlplat-staging-rag-data")["inputs"]["policy"])
    roles = {r: staging.get("aws:iam/role:Role", f"mlplat-staging-rag-{r}-role")["outputs"]["arn"]
             for r in ("ingest", "query")}
    assert [d["Principal"] for d in data] == [[roles["ingest"]], [roles["query"]]]
    assert {p for rule in data[1]["Rules"] for p in rule["Permission"]} == {"aoss:DescribeIndex", "aoss:ReadDocument"}


def test_functions_are_wired_to_both_endpoints_and_the_index_dimension_is_the_embedders(staging):
    fns = {r: staging.get("aws:lambda/function:Function", f"mlplat-staging-rag-{r}")["inputs"]
           for r in ("ingest", "query")}
    endpoints = {n: staging.get("aws:sagemaker/endpoint:Endpoint", f"mlplat-staging-{n}-endpoint")["outputs"]
                 for n in ("mixtral-8x7b", "bge-embeddings")}
    bge = staging.get("aws:sagemaker/model:Model", "mlplat-staging-bge-embeddings-model")
    for fn in fns.values():
        variables = fn["environment"]["variables"]
        assert variables["EMBEDDINGS_ENDPOINT"] == endpoints["bge-embeddings"]["name"]
        assert variables["LLM_ENDPOINT"] == endpoints["mixtral-8x7b"]["name"]
        assert int(variables["DIMENSION"]) == EMBEDDING_DIMENSIONS["huggingface-sentencesimilarity-bge-large-en"] \
            == 1024
        assert fn["vpcConfig"]["subnetIds"] and fn["handler"] in ("handlers.ingest.handler", "handlers.query.handler")
    assert bge["inputs"]["primaryContainer"]["image"]  # the embedder the dimension belongs to is deployed
    # S3 events wait in a queue (retried for hours while the embedder scales from zero), then the DLQ.
    dlq = staging.get("aws:sqs/queue:Queue", "mlplat-staging-rag-ingest-dlq")
    queue = staging.get("aws:sqs/queue:Queue", "mlplat-staging-rag-ingest-queue")
    assert json.loads(queue["inputs"]["redrivePolicy"]) == {"deadLetterTargetArn": dlq["outputs"]["arn"],
                                                           "maxReceiveCount": 8}
    assert queue["inputs"]["visibilityTimeoutSeconds"] >= 6 * fns["ingest"]["timeout"]
    notification = staging.get("aws:s3/bucketNotification:BucketNotification", "mlplat-staging-rag-documents")
    (trigger,) = notification["inputs"]["queues"]
    assert trigger["queueArn"] == queue["outputs"]["arn"]
    assert trigger["filterPrefix"] == "documents/" and set(trigger["events"]) == {"s3:ObjectCreated:*",
                                                                                   "s3:ObjectRemoved:*"}
    mapping = staging.get("aws:lambda/eventSourceMapping:EventSourceMapping", "mlplat-staging-rag-ingest-events")
    assert mapping["inputs"]["eventSourceArn"] == queue["outputs"]["arn"]
    assert mapping["inputs"]["functionResponseTypes"] == ["ReportBatchItemFailures"]
    queue_policy = json.loads(staging.get("aws:sqs/queuePolicy:QueuePolicy",
                                          "mlplat-staging-rag-ingest-queue")["inputs"]["policy"])
    s3_events = next(s for s in queue_policy["Statement"] if s["Sid"] == "S3Events")
    assert s3_events["Principal"] == {"Service": "s3.amazonaws.com"} and s3_events["Condition"]["ArnEquals"]
    policies = {r: {s["Sid"]: s for s in json.loads(staging.get(
        "aws:iam/rolePolicy:RolePolicy", f"mlplat-staging-rag-{r}-role")["inputs"]["policy"])["Statement"]}
        for r in ("ingest", "query")}
    assert policies["query"]["Endpoints"]["Resource"] == [endpoints["mixtral-8x7b"]["arn"],
                                                          endpoints["bge-embeddings"]["arn"]]
    assert policies["ingest"]["Endpoints"]["Resource"] == [endpoints["bge-embeddings"]["arn"]]
    collection = staging.get("aws:opensearch/serverlessCollection:ServerlessCollection",
                             "mlplat-staging-rag-collection")["outputs"]["arn"]
    assert policies["query"]["Collection"] == {"Sid": "Collection", "Effect": "Allow",
                                               "Action": ["aoss:APIAccessAll"], "Resource": collection}
    assert "ReplaceParents" not in policies["query"] and policies["query"]["ReadParents"]["Resource"].endswith(
        "/parents/*")


def test_query_api_is_iam_authenticated_and_validates_bodies(staging):
    method = staging.get("aws:apigateway/method:Method", "mlplat-staging-rag-query-post")["inputs"]
    assert method["authorization"] == "AWS_IAM"
    model = staging.get("aws:apigateway/model:Model", "mlplat-staging-rag-query-body")["inputs"]
    schema = json.loads(model["schema"])
    assert method["requestModels"] == {"application/json": model["name"]} and schema == query_body_schema()
    jsonschema.Draft4Validator.check_schema(schema)
    validator = jsonschema.Draft4Validator(schema)
    assert validator.is_valid({"question": "q", "k": 3, "retriever": "parent"})
    assert not validator.is_valid({"question": ""}) and not validator.is_valid({"question": "q", "k": 11})


def test_lambda_package_holds_only_the_handlers_and_the_shared_modules():
    archive = lambda_code()
    assert sorted(archive.assets) == ["handlers/__init__.py", "handlers/aoss.py", "handlers/common.py",
                                      "handlers/ingest.py", "handlers/query.py", "mlruntime/__init__.py",
                                      "mlruntime/rag/__init__.py", "mlruntime/rag/retrieval.py",
                                      "mlruntime/rag/split.py", "mlruntime/sagemaker.py"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, asset in archive.assets.items():
            zf.write(asset.path, name)
    assert len(buffer.getvalue()) < 100_000  # no third-party package (megabytes): the runtime's boto3 suffices
    for source in ("split.py", "retrieval.py"):
        text = (ROOT / "mlruntime/rag" / source).read_text()
        assert "import numpy" not in text and "import faiss" not in text


def test_pack_refuses_public_or_aws_keyed_collections_and_open_methods():
    public = {"type": "network", "policy": json.dumps([{"Rules": [], "AllowFromPublic": True}])}
    owned = {"type": "encryption", "policy": json.dumps({"Rules": [], "AWSOwnedKey": True})}
    assert check_resource(OPENSEARCH_SERVERLESS, AOSS_SECURITY_POLICY, public)
    assert check_resource(OPENSEARCH_SERVERLESS, AOSS_SECURITY_POLICY, owned)
    assert check_resource(API_METHODS_AUTHENTICATED, APIGW_METHOD, {"httpMethod": "POST", "authorization": "NONE"})
    assert not check_resource(API_METHODS_AUTHENTICATED, APIGW_METHOD,
                              {"httpMethod": "POST", "authorization": "NONE", "apiKeyRequired": True})


def test_rag_config_needs_its_endpoints():
    with pytest.raises(ConfigError) as info:
        parse(values(config(rag={"enabled": True}, endpoints=[
            {"name": "bge-embeddings", "modelId": "huggingface-sentencesimilarity-bge-large-en"}])))
    # The query function invokes itself from the VPC: with interface endpoints (no NAT egress) it needs Lambda's.
    assert info.value.problems == [
        "ml-platform:network.interfaceEndpoints: expected lambda among them: the RAG query function invokes itself "
        "for asynchronous queries from inside the VPC; found [ecr.api, ecr.dkr, sts, logs, sagemaker.api, "
        "sagemaker.runtime]",
        "ml-platform:rag.llmEndpoint: expected one of endpoints[].name (bge-embeddings); found 'mixtral-8x7b'"]


def test_ingestion_is_serialized_the_index_exists_from_deploy_and_jobs_can_be_polled(staging):
    ingest = staging.get("aws:lambda/function:Function", "mlplat-staging-rag-ingest")
    query = staging.get("aws:lambda/function:Function", "mlplat-staging-rag-query")
    leases = staging.get("aws:dynamodb/table:Table", "mlplat-staging-rag-ingest-leases")
    assert ingest["inputs"]["environment"]["variables"]["LEASE_TABLE"] == leases["outputs"]["name"]
    assert leases["inputs"]["serverSideEncryption"]["kmsKeyArn"]
    policies = {r: {s["Sid"]: s for s in json.loads(staging.get(
        "aws:iam/rolePolicy:RolePolicy", f"mlplat-staging-rag-{r}-role")["inputs"]["policy"])["Statement"]}
        for r in ("ingest", "query")}
    assert policies["ingest"]["Leases"]["Resource"] == leases["outputs"]["arn"]
    # The query function's own (generated) name fits the pattern its policy lets it invoke.
    import fnmatch

    assert fnmatch.fnmatchcase(query["outputs"]["arn"], policies["query"]["InvokeSelf"]["Resource"])
    assert policies["query"]["Jobs"]["Resource"].endswith("/jobs/*")
    create = staging.get("aws:lambda/invocation:Invocation", "mlplat-staging-rag-create-index")
    assert create["inputs"]["functionName"] == ingest["outputs"]["name"]
    assert json.loads(create["inputs"]["input"])["ensureIndex"] is True
    data_policy = staging.get("aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy",
                              "mlplat-staging-rag-data")
    assert data_policy["urn"] in create["dependencies"], "created once the functions may write the index"
    poll = staging.get("aws:apigateway/method:Method", "mlplat-staging-rag-job-get")["inputs"]
    assert poll["httpMethod"] == "GET" and poll["authorization"] == "AWS_IAM"
    permission = staging.get("aws:lambda/permission:Permission", "mlplat-staging-rag-api-poll-invoke")["inputs"]
    assert permission["sourceArn"].endswith("/*/GET/query/jobs/*")


def test_both_functions_may_list_the_bucket_so_a_missing_object_is_a_404(staging):
    """S3 answers a HEAD/GET of a missing key with 404 only to a caller with s3:ListBucket; a condition on
    s3:prefix never matches those requests (they carry no prefix), so it must not be conditioned."""
    bucket = staging.get("aws:s3/bucket:Bucket", "mlplat-staging-rag-docs")["outputs"]["arn"]
    for role in ("ingest", "query"):
        statements = json.loads(staging.get("aws:iam/rolePolicy:RolePolicy", f"mlplat-staging-rag-{role}-role")[
            "inputs"]["policy"])["Statement"]
        listing = [s for s in statements if "s3:ListBucket" in s["Action"]]
        assert listing and all(s["Resource"] == bucket and "Condition" not in s for s in listing), role
