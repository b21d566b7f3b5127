"""`RagService`: the post's advanced RAG pattern as a deployable service over the stack's LLM and embeddings
endpoints.

- Vector store: an OpenSearch Serverless VECTORSEARCH collection encrypted with the environment's key, reachable
  only through a VPC endpoint in the private subnets, readable and writable only by the two functions' roles.
  The k-NN index (dimension from the catalog: 1024 for BGE Large En) is created by the ingestion function on its
  first run: the collection's data plane is inside the VPC, where a deployer or Cloud Control may not reach it.
- Parents in the service's bucket under `parents/`, children (with their parent id) in the index.
- Ingestion: documents uploaded under `documents/` trigger a function in the VPC; failures go to an SQS
  dead-letter queue after Lambda's two retries.
- Query: a REST API (IAM auth, POST /query) in front of a function that retrieves, compresses and asks the LLM.

The functions run plain Python with the runtime's boto3 (`handlers/`, plus `mlruntime/rag/`): LangChain's retrievers
would need langchain-classic, -community and -aws, measured at 239 MiB unzipped (11 MB under Lambda's 250 MB),
83 MiB zipped (over the 50 MB direct upload) and 1.0-1.4 s to import on a cold start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.apigateway_account import api_gateway_account
from components.aws_calls import handler_calls
from components.context import Env, NetworkRef
from components.egress import https_to_vpc_and_s3
from components.jumpstart_endpoint.component import JumpStartEndpoint
from components.lambda_function import FunctionSpec, lambda_function
from components.rag.args import RagArgs, query_body_schema
from components.rag.iam import ServiceArns, data_access_policy, function_policy
from components.storage.args import BucketArgs, LifecycleRule
from components.storage.component import SecureBucket

ROOT = Path(__file__).resolve().parents[2]
INDEX = "chunks"


def lambda_code() -> pulumi.AssetArchive:
    """The handlers and the shared splitting / retrieval modules, nothing else (no third-party package)."""
    files = {f"handlers/{p.name}": p for p in sorted((Path(__file__).parent / "handlers").glob("*.py"))}
    files.update({f"mlruntime/{name}": ROOT / "mlruntime" / name for name in
                  ("__init__.py", "sagemaker.py", "rag/__init__.py", "rag/split.py", "rag/retrieval.py")})
    return pulumi.AssetArchive({key: pulumi.FileAsset(str(path)) for key, path in files.items()})


@dataclass(frozen=True)
class RagEndpoints:
    """The stack's endpoints the service calls, and the embedder's vector dimension (the index's)."""

    llm: JumpStartEndpoint
    embeddings: JumpStartEndpoint
    dimension: int


#: How long a taken message stays invisible (6 x the ingest function's 300 s timeout) and how often it is taken before
#: the DLQ: 8 x 30 minutes of retries, longer than any scale-from-zero of the embedder.
VISIBILITY_S = 1800
MAX_RECEIVES = 8


class RagService(pulumi.ComponentResource):
    def __init__(self, name: str, args: RagArgs, *, env: Env, network: NetworkRef, endpoints: RagEndpoints,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplat:rag:RagService", name, None, env.component_options(opts))
        llm, embeddings, dimension = endpoints.llm, endpoints.embeddings, endpoints.dimension
        self._name, self._env = name, env
        bucket = SecureBucket(f"{name}-docs", BucketArgs(lifecycle=(
                                  LifecycleRule(id="async-answers", prefix="jobs/", expire_days=7),)), env=env,
                              bucket_name=pulumi.Output.concat(f"{name}-", env.account_id), opts=self._opts())
        dlq = aws.sqs.Queue(f"{name}-ingest-dlq", kms_master_key_id=env.key_arn, message_retention_seconds=1_209_600,
                            opts=self._opts())
        fn_sg = aws.ec2.SecurityGroup(f"{name}-functions", vpc_id=network.vpc_id,
                                      description=f"RAG functions {name}: HTTPS to the VPC, S3 and the AWS APIs",
                                      egress=https_to_vpc_and_s3(env, network, self, dynamodb=True),
                                      opts=self._opts())
        collection, vpce = self._collection(name, args, network, fn_sg)
        # One reconciliation per document at a time (handlers/ingest.py): a lease item per document.
        leases = aws.dynamodb.Table(
            f"{name}-ingest-leases", billing_mode="PAY_PER_REQUEST", hash_key="doc_id",
            attributes=[aws.dynamodb.TableAttributeArgs(name="doc_id", type="S")],
            ttl=aws.dynamodb.TableTtlArgs(attribute_name="expires_at", enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=env.key_arn),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True), opts=self._opts())
        # The query function is auto-named `<name>-query-<suffix>`: it may invoke only functions so named.
        query_arns = pulumi.Output.concat("arn:", env.partition, ":lambda:", env.region, ":", env.account_id,
                                          f":function:{name}-query-*")
        queue = self._ingest_queue(name, bucket, dlq, env)
        def component_arn(endpoint) -> pulumi.Output[str] | None:
            if endpoint.inference_component_name is None:
                return None
            return pulumi.Output.concat("arn:", env.partition, ":sagemaker:", env.region, ":", env.account_id,
                                        ":inference-component/", endpoint.inference_component_name)

        refs = pulumi.Output.all(bucket.bucket_arn, collection.arn, llm.endpoint_arn, embeddings.endpoint_arn,
                                 env.key_arn, dlq.arn, leases.arn, query_arns, queue.arn, component_arn(llm),
                                 component_arn(embeddings))

        def policy(role: str, logs: pulumi.Output[str]) -> pulumi.Output[str]:
            return pulumi.Output.all(refs, logs).apply(
                lambda a: json.dumps(function_policy(role, ServiceArns(*a[0]), log_group_arn=a[1])))

        fns, roles = {}, {}
        for role_name in ("ingest", "query"):
            spec = FunctionSpec(
                f"{name}-{role_name}", f"handlers.{role_name}.handler", lambda_code(),
                timeout=300 if role_name == "ingest" else 60, memory_size=512, tracing=True, named=False,
                variables={
                    "INDEX": INDEX, "DIMENSION": str(dimension), "COLLECTION_ENDPOINT": collection.collection_endpoint,
                    "BUCKET": bucket.bucket_name, "KMS_KEY_ARN": env.key_arn,
                    "EMBEDDINGS_ENDPOINT": embeddings.endpoint_name, "LLM_ENDPOINT": llm.endpoint_name,
                    "PARENT_SIZE": str(args.parent_size), "CHILD_SIZE": str(args.child_size),
                    "CHILD_OVERLAP": str(args.child_overlap), "RETRIEVER": args.retriever,
                    "COMPRESSION": args.compression, "K": str(args.k), "LEASE_TABLE": leases.name,
                    # A scale-to-zero endpoint serves through an inference component, which every call must name.
                    **({"EMBEDDINGS_COMPONENT": embeddings.inference_component_name}
                       if embeddings.inference_component_name is not None else {}),
                    **({"LLM_COMPONENT": llm.inference_component_name}
                       if llm.inference_component_name is not None else {})},
                # Ingestion takes its events from a queue (redriven to the DLQ after MAX_RECEIVES): no async DLQ.
                vpc=aws.lambda_.FunctionVpcConfigArgs(subnet_ids=network.private_subnet_ids,
                                                      security_group_ids=[fn_sg.id]),
                managed_policies={"vpc": "service-role/AWSLambdaVPCAccessExecutionRole"},
                role_aliases=(f"{name}-{role_name}",),
                # The collection is called over HTTPS with SigV4 (handlers/aoss.py), not through a boto3 client.
                calls=handler_calls(Path(__file__).parent / "handlers", role_name, declared=("aoss",)))
            built = lambda_function(spec, lambda logs, r=role_name: policy(r, logs), env=env, parent=self,
                                    depends_on=[vpce, *network.ready])
            fns[role_name], roles[role_name] = built.function, built.role
        data_policy = aws.opensearch.ServerlessAccessPolicy(
            f"{name}-data", name=f"{name}-data", type="data",
            policy=pulumi.Output.all(roles["ingest"].arn, roles["query"].arn).apply(
                lambda a: json.dumps(data_access_policy(name, INDEX, a[0], a[1]))), opts=self._opts())
        # The index exists from the deployment on, so a query before the first upload finds an empty index
        # rather than none: the ingest function creates it (retrying while the data policy propagates).
        aws.lambda_.Invocation(
            f"{name}-create-index", function_name=fns["ingest"].name,
            input=json.dumps({"ensureIndex": True, "index": INDEX, "dimension": dimension}),
            opts=self._opts(depends_on=[data_policy, collection, vpce]))
        self._trigger(name, bucket, fns["ingest"], queue)
        # Asynchronous queries (the query function invoking itself) that fail every retry land in the DLQ too.
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-query-async", function_name=fns["query"].name, maximum_retry_attempts=2,
            maximum_event_age_in_seconds=3600,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(destination=dlq.arn)),
            opts=self._opts())
        self.query_url = self._api(name, fns["query"], args)
        self.bucket_name = bucket.bucket_name
        self.collection_endpoint = collection.collection_endpoint
        self.ingest_function = fns["ingest"].name
        self.register_outputs({"queryUrl": self.query_url, "bucket": self.bucket_name,
                               "collectionEndpoint": self.collection_endpoint, "ingestFunction": self.ingest_function})

    def _opts(self, **kwargs) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, **kwargs)

    def _collection(self, name: str, args: RagArgs, network: NetworkRef, fn_sg: aws.ec2.SecurityGroup):
        """Encryption policy (before the collection: CreateCollection needs one), collection, VPC endpoint and
        the network policy that allows only it."""
        encryption = aws.opensearch.ServerlessSecurityPolicy(
            f"{name}-enc", name=f"{name}-enc", type="encryption",
            policy=pulumi.Output.from_input(self._env.key_arn).apply(lambda key: json.dumps({
                "Rules": [{"ResourceType": "collection", "Resource": [f"collection/{name}"]}],
                "AWSOwnedKey": False, "KmsARN": key})), opts=self._opts())
        collection = aws.opensearch.ServerlessCollection(
            f"{name}-collection", name=name, type="VECTORSEARCH",
            standby_replicas="ENABLED" if args.standby_replicas else "DISABLED",
            description="RAG children (k-NN) of the advanced RAG service", opts=self._opts(depends_on=[encryption]))
        vpce_sg = aws.ec2.SecurityGroup(
            f"{name}-aoss", vpc_id=network.vpc_id, description=f"OpenSearch Serverless endpoint of {name}",
            ingress=[aws.ec2.SecurityGroupIngressArgs(protocol="tcp", from_port=443, to_port=443,
                                                      security_groups=[fn_sg.id], description="RAG functions")],
            opts=self._opts())
        vpce = aws.opensearch.ServerlessVpcEndpoint(
            f"{name}-vpce", name=name, vpc_id=network.vpc_id, subnet_ids=network.private_subnet_ids,
            security_group_ids=[vpce_sg.id], opts=self._opts())
        aws.opensearch.ServerlessSecurityPolicy(
            f"{name}-net", name=f"{name}-net", type="network",
            policy=vpce.id.apply(lambda vpce_id: json.dumps([{
                "Description": "only the service's VPC endpoint",
                "Rules": [{"ResourceType": "collection", "Resource": [f"collection/{name}"]},
                          {"ResourceType": "dashboard", "Resource": [f"collection/{name}"]}],
                "AllowFromPublic": False, "SourceVPCEs": [vpce_id]}])), opts=self._opts())
        return collection, vpce

    def _ingest_queue(self, name: str, bucket: SecureBucket, dlq: aws.sqs.Queue, env: Env) -> aws.sqs.Queue:
        """The queue S3 events wait in: an upload while the embedder scales from zero (minutes) stays queued and is
        retried for hours (MAX_RECEIVES x VISIBILITY_S), instead of exhausting Lambda's two asynchronous retries and
        landing in the DLQ. Visibility is 6 x the function's timeout (Lambda developer guide, SQS event sources)."""
        queue = aws.sqs.Queue(
            f"{name}-ingest-queue", kms_master_key_id=env.key_arn, visibility_timeout_seconds=VISIBILITY_S,
            message_retention_seconds=4 * 24 * 3600,
            redrive_policy=dlq.arn.apply(lambda arn: json.dumps({"deadLetterTargetArn": arn,
                                                                 "maxReceiveCount": MAX_RECEIVES})),
            opts=self._opts())
        # S3 may send only this bucket's events (SQS developer guide, S3 event notifications to a queue); TLS only.
        policy = pulumi.Output.all(queue.arn, bucket.bucket_arn, env.account_id).apply(lambda a: json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Sid": "S3Events", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                 "Action": "sqs:SendMessage", "Resource": a[0],
                 "Condition": {"ArnEquals": {"aws:SourceArn": a[1]}, "StringEquals": {"aws:SourceAccount": a[2]}}},
                {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": a[0],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        self._queue_policy = aws.sqs.QueuePolicy(f"{name}-ingest-queue", queue_url=queue.url, policy=policy,
                                                 opts=self._opts())
        return queue

    def _trigger(self, name: str, bucket: SecureBucket, fn: aws.lambda_.Function, queue: aws.sqs.Queue) -> None:
        aws.s3.BucketNotification(
            f"{name}-documents", bucket=bucket.bucket_name,
            queues=[aws.s3.BucketNotificationQueueArgs(
                queue_arn=queue.arn, events=["s3:ObjectCreated:*", "s3:ObjectRemoved:*"], filter_prefix="documents/")],
            opts=self._opts(depends_on=[self._queue_policy]))
        # One document per invocation; a failed one goes back to the queue alone (ReportBatchItemFailures).
        aws.lambda_.EventSourceMapping(
            f"{name}-ingest-events", event_source_arn=queue.arn, function_name=fn.arn, batch_size=1,
            function_response_types=["ReportBatchItemFailures"], opts=self._opts())

    def _api(self, name: str, fn: aws.lambda_.Function, args: RagArgs) -> pulumi.Output[str]:
        api = aws.apigateway.RestApi(f"{name}-api", description="RAG queries (IAM auth)",
                                     endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(
                                         types="REGIONAL"), opts=self._opts())
        resource = aws.apigateway.Resource(f"{name}-query", rest_api=api.id, parent_id=api.root_resource_id,
                                           path_part="query", opts=self._opts())
        model = aws.apigateway.Model(f"{name}-query-body", rest_api=api.id, name="QueryBody",
                                     content_type="application/json", schema=json.dumps(query_body_schema()),
                                     opts=self._opts())
        validator = aws.apigateway.RequestValidator(f"{name}-query-body", rest_api=api.id, name="query-body",
                                                    validate_request_body=True, opts=self._opts())
        method = aws.apigateway.Method(f"{name}-query-post", rest_api=api.id, resource_id=resource.id,
                                       http_method="POST", authorization="AWS_IAM", request_validator_id=validator.id,
                                       request_models={"application/json": model.name}, opts=self._opts())
        integration = aws.apigateway.Integration(
            f"{name}-query-integration", rest_api=api.id, resource_id=resource.id, http_method=method.http_method,
            integration_http_method="POST", type="AWS_PROXY", uri=fn.invoke_arn, opts=self._opts())
        aws.lambda_.Permission(f"{name}-api-invoke", action="lambda:InvokeFunction", function=fn.name,
                               principal="apigateway.amazonaws.com",
                               source_arn=pulumi.Output.concat(api.execution_arn, "/*/POST/query"), opts=self._opts())
        # GET /query/jobs/{jobId}: the answer of an asynchronous query.
        jobs = aws.apigateway.Resource(f"{name}-jobs", rest_api=api.id, parent_id=resource.id, path_part="jobs",
                                       opts=self._opts())
        job = aws.apigateway.Resource(f"{name}-job", rest_api=api.id, parent_id=jobs.id, path_part="{jobId}",
                                      opts=self._opts())
        poll = aws.apigateway.Method(f"{name}-job-get", rest_api=api.id, resource_id=job.id, http_method="GET",
                                     authorization="AWS_IAM", request_parameters={"method.request.path.jobId": True},
                                     opts=self._opts())
        poll_integration = aws.apigateway.Integration(
            f"{name}-job-integration", rest_api=api.id, resource_id=job.id, http_method=poll.http_method,
            integration_http_method="POST", type="AWS_PROXY", uri=fn.invoke_arn, opts=self._opts())
        aws.lambda_.Permission(f"{name}-api-poll-invoke", action="lambda:InvokeFunction", function=fn.name,
                               principal="apigateway.amazonaws.com",
                               source_arn=pulumi.Output.concat(api.execution_arn, "/*/GET/query/jobs/*"),
                               opts=self._opts())
        deployment = aws.apigateway.Deployment(
            f"{name}-deployment", rest_api=api.id,
            triggers={"redeployment": pulumi.Output.all(resource.id, method.id, integration.id, model.id, job.id,
                                                        poll.id, poll_integration.id).apply("-".join)},
            opts=self._opts(depends_on=[integration, poll_integration]))
        ready = [api_gateway_account(name, self._env, self)] if args.manage_api_gateway_account else []
        logs = aws.cloudwatch.LogGroup(f"{name}-api-logs", name=pulumi.Output.concat("/aws/apigateway/", api.id, "/v1"),
                                       retention_in_days=self._env.log_retention_days, kms_key_id=self._env.key_arn,
                                       opts=self._opts())
        stage = aws.apigateway.Stage(
            f"{name}-stage", rest_api=api.id, deployment=deployment.id, stage_name="v1", xray_tracing_enabled=True,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(destination_arn=logs.arn, format=json.dumps({
                "requestId": "$context.requestId", "caller": "$context.identity.caller", "status": "$context.status",
                "requestTime": "$context.requestTime", "error": "$context.error.message"})),
            opts=self._opts(depends_on=ready))
        aws.apigateway.MethodSettings(
            f"{name}-settings", rest_api=api.id, stage_name=stage.stage_name, method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                throttling_rate_limit=args.throttling_rate_limit, throttling_burst_limit=args.throttling_burst_limit,
                logging_level="ERROR", metrics_enabled=True, data_trace_enabled=False),
            opts=self._opts())
        return pulumi.Output.concat(stage.invoke_url, "/query")


