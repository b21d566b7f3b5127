"""`BedrockFineTuning` (Titan Image Generator G1) and account-wide `InvocationLogging`.

A customization job's name cannot be reused, so the job and custom-model names carry `runId`: a
new run is a new `runId`, which replaces the resource. The trained model is retained on delete
(`retain_on_delete`): removing it from the program must not destroy hours of training.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.bedrock.args import FineTuningArgs, InvocationLoggingArgs
from components.bedrock.customization import JobSpec, bedrock_trust, customization_job, data_bucket
from components.bedrock.pretraining import file_sha256
from components.context import Env, NetworkRef
from components.propagation import Propagation
from components.storage.args import BucketArgs, LifecycleRule
from components.storage.component import SecureBucket

TRAINING_PREFIX = "training/"


class BedrockFineTuning(pulumi.ComponentResource):
    custom_model_name: str
    job_name: str
    training_bucket: pulumi.Output[str] | None
    role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: FineTuningArgs, *, env: Env, step_count: int,
                 network: NetworkRef | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        """`step_count`: the training steps (recommended from the image count when not configured);
        `network`: the VPC the job runs in when `args.vpc` is set."""
        super().__init__("mlplat:bedrock:BedrockFineTuning", name, None, env.component_options(opts))
        if args.vpc and network is None:
            raise ValueError(f"{name}: fine-tuning with vpc: true needs the network it runs in")
        kms_key_arn = env.key_arn
        self.custom_model_name = f"{name}-{args.run_id}"
        self.job_name = f"{name}-{args.run_id}"
        self.training_bucket = None
        created: SecureBucket | None = None
        if args.training_data_s3_uri is None or args.output_s3_uri is None:
            created = data_bucket(self, name, env)
            self.training_bucket = created.bucket_name
        uploads: list[pulumi.Resource] = []
        if args.training_data_s3_uri is not None:
            training_uri: pulumi.Input[str] = args.training_data_s3_uri
        else:
            assert created is not None and args.local_manifest is not None
            uploads = self._upload_training_data(name, Path(args.local_manifest), created.bucket_name, kms_key_arn)
            training_uri = pulumi.Output.concat("s3://", created.bucket_name, f"/{TRAINING_PREFIX}train.jsonl")
        output_uri: pulumi.Input[str] = (args.output_s3_uri if args.output_s3_uri is not None else
                                         pulumi.Output.concat("s3://", created.bucket_name, "/output/"))  # type: ignore[union-attr]
        hp = args.hyperparameters
        role, model = customization_job(self, name, env, network if args.vpc else None, JobSpec(
            custom_model_name=self.custom_model_name, job_name=self.job_name, customization_type="FINE_TUNING",
            base_model=args.base_model, training_uri=training_uri, output_uri=output_uri,
            hyperparameters={"stepCount": str(step_count), "batchSize": str(hp.batch_size),
                             "learningRate": f"{hp.learning_rate:g}"},
            # The job reads its manifest and every image when it starts: they must all exist first.
            depends_on=uploads, run_id=args.run_id,
            run_inputs={"args": args.model_dump(mode="json", exclude={"run_id"}), "steps": step_count,
                        "manifest": file_sha256(Path(args.local_manifest)) if args.local_manifest else None}))
        self.role_arn = role.arn
        self.job_arn = model.job_arn
        self.uploaded_images = len(uploads) - 1 if uploads else 0
        self.register_outputs({"customModelName": self.custom_model_name, "jobName": self.job_name,
                               "jobArn": model.job_arn, "roleArn": role.arn})

    def _upload_training_data(self, name: str, manifest: Path, bucket: pulumi.Output[str],
                              kms_key_arn: pulumi.Input[str]) -> list[pulumi.Resource]:
        """Every image the local manifest names, then the manifest with its image-refs pointing at them."""
        child = pulumi.ResourceOptions(parent=self)
        records = [json.loads(line) for line in manifest.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
        uploads: list[pulumi.Resource] = []
        for ref in sorted({r["image-ref"] for r in records}):
            uploads.append(aws.s3.BucketObjectv2(
                # Named after the file, so adding an image does not rename (re-upload) the others.
                f"{name}-image-{hashlib.sha256(ref.encode()).hexdigest()[:10]}",
                bucket=bucket, key=f"{TRAINING_PREFIX}images/{ref}",
                source=pulumi.FileAsset(str(manifest.parent / ref)),
                content_type="image/png" if ref.lower().endswith(".png") else "image/jpeg",
                server_side_encryption="aws:kms", kms_key_id=kms_key_arn, opts=child))
        content = bucket.apply(lambda b: "".join(
            json.dumps({"image-ref": f"s3://{b}/{TRAINING_PREFIX}images/{r['image-ref']}", "caption": r["caption"]})
            + "\n" for r in records))
        uploads.append(aws.s3.BucketObjectv2(
            f"{name}-manifest", bucket=bucket, key=f"{TRAINING_PREFIX}train.jsonl", content=content,
            content_type="application/jsonl", server_side_encryption="aws:kms", kms_key_id=kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(uploads))))
        return uploads


class InvocationLogging(pulumi.ComponentResource):
    """Bedrock model invocation logging for the account and region (one per region)."""

    def __init__(self, name: str, args: InvocationLoggingArgs, *, env: Env,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplat:bedrock:InvocationLogging", name, None, env.component_options(opts))
        child = pulumi.ResourceOptions(parent=self)
        region, account_id, partition, kms_key_arn = env.region, env.account_id, env.partition, env.key_arn
        cloudwatch = None
        ready: list[pulumi.Resource] = []  # what PutModelInvocationLoggingConfiguration validates at call time
        follows: list[pulumi.Input[str]] = []  # their documents and ARNs: a change of any waits for IAM again
        if args.cloudwatch:
            group = aws.cloudwatch.LogGroup(f"{name}-logs", name=f"/aws/bedrock/{name}/invocations",
                                            retention_in_days=args.retention_days, kms_key_id=kms_key_arn, opts=child)
            trust = pulumi.Output.all(account_id, partition).apply(lambda a: bedrock_trust(a[0], a[1], region, "*"))
            role = aws.iam.Role(f"{name}-logs", assume_role_policy=trust, opts=child)
            role_policy = aws.iam.RolePolicy(
                f"{name}-logs", role=role.id,
                policy=group.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{arn}:log-stream:*"}]})),
                opts=child,
            )
            cloudwatch = aws.bedrockmodel.InvocationLoggingConfigurationLoggingConfigCloudwatchConfigArgs(
                log_group_name=group.name, role_arn=role.arn)
            ready += [group, role, role_policy]
            follows += [group.arn, role.arn, role.assume_role_policy, role_policy.policy]
        s3 = None
        if args.s3:
            statement = pulumi.Output.all(account_id, partition).apply(lambda a: ({
                "Sid": "BedrockInvocationLogs", "Effect": "Allow",
                "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "s3:PutObject",
                "Resource": f"arn:{a[1]}:s3:::{name}-logs-{a[0]}/AWSLogs/{a[0]}/BedrockModelInvocationLogs/*",
                "Condition": {"StringEquals": {"aws:SourceAccount": a[0]},
                              "ArnLike": {"aws:SourceArn": f"arn:{a[1]}:bedrock:{region}:{a[0]}:*"}},
            },))
            bucket = SecureBucket(
                f"{name}-logs",
                BucketArgs(lifecycle=(LifecycleRule(id="expire-logs", expire_days=args.retention_days),)),
                env=env, bucket_name=pulumi.Output.concat(f"{name}-logs-", account_id), policy_statements=statement,
                opts=child,
            )
            s3 = aws.bedrockmodel.InvocationLoggingConfigurationLoggingConfigS3ConfigArgs(
                bucket_name=bucket.bucket_name)
            ready.append(bucket.policy)
            follows += [bucket.bucket_name, bucket.policy.policy]
        # Bedrock checks the destinations when the configuration is put ("Failed to validate permissions for log
        # group ... with role ..."): after the role's and the bucket's policies, and after IAM has propagated them.
        propagated = Propagation(f"{name}-iam", after=follows,
                                 opts=pulumi.ResourceOptions(parent=self, depends_on=ready))
        aws.bedrockmodel.InvocationLoggingConfiguration(
            f"{name}-config",
            logging_config=aws.bedrockmodel.InvocationLoggingConfigurationLoggingConfigArgs(
                cloudwatch_config=cloudwatch, s3_config=s3, text_data_delivery_enabled=True,
                image_data_delivery_enabled=True, embedding_data_delivery_enabled=True),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*ready, propagated]),
        )
        self.register_outputs({})
