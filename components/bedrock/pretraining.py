"""`BedrockContinuedPretraining`: a Titan Text model continued on a domain corpus (customization type
`CONTINUED_PRE_TRAINING`), with the role, KMS and VPC patterns of fine-tuning (`customization.py`).

`localCorpus` is the output folder of `mlplat corpus curate`: its `bedrock/train.jsonl` (one `{"input": ...}` per
line, Bedrock's continued pre-training format) is uploaded to the job's bucket, SSE-KMS, and the job starts after
the upload. The object is named after the file's content hash, so a re-curated corpus is a new upload.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.bedrock.args import ContinuedPretrainingArgs
from components.bedrock.customization import JobSpec, customization_job, data_bucket
from components.context import Env, NetworkRef

TRAINING_KEY = "training/train.jsonl"


def corpus_file(local_corpus: str) -> Path:
    return Path(local_corpus) / "bedrock" / "train.jsonl"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class BedrockContinuedPretraining(pulumi.ComponentResource):
    custom_model_name: str
    job_name: str
    training_bucket: pulumi.Output[str] | None

    def __init__(self, name: str, args: ContinuedPretrainingArgs, *, env: Env, network: NetworkRef | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlplat:bedrock:BedrockContinuedPretraining", name, None, env.component_options(opts))
        if args.vpc and network is None:
            raise ValueError(f"{name}: continued pre-training with vpc: true needs the network it runs in")
        self.custom_model_name = self.job_name = f"{name}-{args.run_id}"
        self.training_bucket = None
        bucket = data_bucket(self, name, env) if args.training_data_uri is None or args.output_uri is None else None
        uploads: list[pulumi.Resource] = []
        if args.training_data_uri is not None:
            training_uri: pulumi.Input[str] = args.training_data_uri
        else:
            assert bucket is not None and args.local_corpus is not None
            source = corpus_file(args.local_corpus)
            uploads.append(aws.s3.BucketObjectv2(
                f"{name}-corpus", bucket=bucket.bucket_name, key=TRAINING_KEY,
                source=pulumi.FileAsset(str(source)), source_hash=file_sha256(source),
                content_type="application/jsonl", server_side_encryption="aws:kms", kms_key_id=env.key_arn,
                opts=pulumi.ResourceOptions(parent=self)))
            training_uri = pulumi.Output.concat("s3://", bucket.bucket_name, f"/{TRAINING_KEY}")
        if bucket is not None:
            self.training_bucket = bucket.bucket_name
        output_uri: pulumi.Input[str] = (args.output_uri if args.output_uri is not None else
                                         pulumi.Output.concat("s3://", bucket.bucket_name, "/output/"))  # type: ignore[union-attr]
        role, model = customization_job(self, name, env, network if args.vpc else None, JobSpec(
            custom_model_name=self.custom_model_name, job_name=self.job_name,
            customization_type="CONTINUED_PRE_TRAINING", base_model=args.base_model, training_uri=training_uri,
            output_uri=output_uri, validation_uri=args.validation_data_uri,
            hyperparameters=args.hyper_parameters.as_strings(), depends_on=uploads, run_id=args.run_id,
            run_inputs={"args": args.model_dump(mode="json", exclude={"run_id"}),
                        "corpus": file_sha256(corpus_file(args.local_corpus)) if args.local_corpus else None}))
        self.role_arn = role.arn
        self.job_arn = model.job_arn
        self.register_outputs({"customModelName": self.custom_model_name, "jobName": self.job_name,
                               "jobArn": model.job_arn, "roleArn": role.arn})
