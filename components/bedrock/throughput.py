"""`ProvisionedThroughput` for a custom or foundation model.

All arguments of a Provisioned Throughput force replacement, and a committed one (OneMonth,
SixMonths) cannot be deleted before its term ends, so committed throughput is `protect`ed.
When the model comes from a customization job (`fromCustomization`: fine-tuning or continued
pre-training), the model exists only once the job completed (hours): the component looks it up
with the `getCustomModels` invoke and creates the throughput only then; until then it warns and
the deployment succeeds.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.bedrock.args import ThroughputArgs
from components.catalog.prices import BASE_MODEL_TAG

PENDING = "customization job still running; run `pulumi up` again when it completes"


def find_custom_model(summaries: list, model_name: str) -> str | None:
    return next((m.model_arn for m in summaries or [] if m.model_name == model_name), None)


#: "By default, your account has no model units for purchasing Provisioned Throughputs with commitment. You must
#: first visit the AWS support center to request MUs" (botocore bedrock model, CreateProvisionedModelThroughput,
#: modelUnits).
COMMITMENT_QUOTA = ("a committed Provisioned Throughput needs model units your account does not have by default: "
                    "request them first from AWS Support (a service limit increase case), and evaluate the custom "
                    "model before you commit (the term cannot be cancelled)")


NOT_EVALUATED = ("a commitment with no evaluation recorded: evaluate the custom model against its base first "
                 "(text models: `mlplat bedrock evaluate <stack> <name>`; image models: a human evaluation job) and "
                 "list the jobs under evaluationJobs before you commit")


class ProvisionedThroughput(pulumi.ComponentResource):
    provisioned_model_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: ThroughputArgs, *, custom_model_name: str | None = None,
                 base_model: str | None = None, opts: pulumi.ResourceOptions | None = None) -> None:
        """`base_model`: the foundation model it serves, or the custom model's base (None: not known)."""
        super().__init__("mlplat:bedrock:ProvisionedThroughput", name, None, opts)
        self.provisioned_model_arn = None
        pending = None
        model_arn = args.model_arn
        if model_arn is None:
            assert custom_model_name is not None
            # A synchronous invoke: the decision (create or wait) is made while the program runs.
            result = aws.bedrock.get_custom_models(opts=pulumi.InvokeOptions(parent=self))
            model_arn = find_custom_model(result.model_summaries, custom_model_name)
            if model_arn is None:
                pulumi.log.warn(f"{name}: model {custom_model_name}: {PENDING}", resource=self)
                # Created by the first `up` after the job completes: priced and budgeted now, not discovered then.
                pending = {"customModel": custom_model_name, "modelUnits": args.model_units,
                           "commitment": args.commitment}
        if model_arn is not None:
            committed = args.commitment != "none"
            if committed:
                pulumi.log.warn(f"{name}: {COMMITMENT_QUOTA}", resource=self)
                if not args.evaluation_jobs:
                    pulumi.log.warn(f"{name}: {NOT_EVALUATED}", resource=self)
            pt = aws.bedrock.ProvisionedModelThroughput(
                f"{name}-pt",
                provisioned_model_name=name,
                model_arn=model_arn,
                model_units=args.model_units,
                commitment_duration=args.commitment if committed else None,
                tags={BASE_MODEL_TAG: base_model} if base_model else None,
                opts=pulumi.ResourceOptions(parent=self, protect=committed),
            )
            self.provisioned_model_arn = pt.provisioned_model_arn
        self.register_outputs({"provisionedModelArn": self.provisioned_model_arn, "baseModel": base_model,
                               "pending": pending})
