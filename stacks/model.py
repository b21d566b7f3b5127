"""The stack configuration's shape: `PlatformConfig`, the typed model every component's args hang from.

Structure and values only (pydantic); `stacks/checks/` checks what spans keys and `stacks/config.py`
parses a stack's raw config into this model. Kept apart so the checks can import the model without
importing the parser that runs them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from components.base import StrictModel, Tags, UniqueByName, one_of, unique
from components.bedrock.args import BedrockArgs
from components.canvas.args import CanvasArgs
from components.eks_gpu_cluster.args import GpuClusterArgs
from components.jumpstart_endpoint.args import EndpointArgs, SharedEndpointArgs
from components.kpi_report.args import KpiReportArgs
from components.live_chat.args import LiveChatArgs
from components.network.args import NetworkArgs
from components.rag.args import RagArgs
from components.ray_job.args import CurationRayJobArgs
from components.storage.args import StorageArgs
from components.training_job.args import TrainingJobArgs
from stacks.environments import CONFIG_DEFAULTS, ENVIRONMENT_DEFAULTS, Environment, EnvironmentDefaults

#: Regions the platform is built and priced for (EKS, SageMaker, Bedrock available).
SUPPORTED_REGIONS: tuple[str, ...] = (
    "us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1", "ap-southeast-2",
)


#: The longest physical-name prefix every name still fits: OpenSearch Serverless policy names take at most 32
#: characters (botocore `opensearchserverless` `PolicyName`: 3-32, `[a-z][a-z0-9-]+`) and the longest suffix the
#: platform adds to one is `-rag-data` (9).
NAME_PREFIX_MAX = 23
_NAME_PREFIX_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def name_prefix_problem(value: str) -> str | None:
    """Why `value` cannot start every physical name (None when it can), in words rather than a pattern."""
    if not 3 <= len(value) <= NAME_PREFIX_MAX:
        return f"3 to {NAME_PREFIX_MAX} characters (OpenSearch Serverless names are at most 32 with their suffix)"
    if not set(value) <= _NAME_PREFIX_CHARS:
        bad = "".join(sorted(set(value) - _NAME_PREFIX_CHARS))
        return f"lowercase letters, digits and hyphens only (S3 buckets and OpenSearch names); {bad!r} is not allowed"
    if not value[0].isalpha() or value.endswith("-") or "--" in value:
        return "a name that starts with a letter, does not end with a hyphen and has no double hyphen"
    return None


def _name_prefix(value: str | None) -> str | None:
    if value is not None and (why := name_prefix_problem(value)):
        raise ValueError(f"expected {why}; found {value!r}")
    return value


def default_name_prefix(stack: str) -> str:
    """`mlplat-<stack>`: what a stack's physical names start with unless `namePrefix` says otherwise. The shipped
    stacks are named after their environment, so their names are the ones they always had (`mlplat-dev`)."""
    return f"mlplat-{stack.lower()}"


class AssumeRole(StrictModel):
    """One role the providers assume (pulumi-aws `assumeRoles[]`, aws-native `assumeRole`)."""

    role_arn: Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")] = Field(
        description="The IAM role ARN to assume.")
    session_name: str | None = Field(default=None, description="The session name (CloudTrail shows it).")
    external_id: str | None = Field(default=None, description="The external id the role's trust policy requires.")


#: The `aws:` keys the platform's explicit providers take from the stack file (an explicit provider reads no stack
#: config of its own: pulumi-aws documents `aws:*` keys as the *default* provider's settings).
PROVIDER_KEYS = ("aws:region", "aws:profile", "aws:assumeRoles", "aws:allowedAccountIds")


def _one_role(roles: list[AssumeRole]) -> list[AssumeRole]:
    if len(roles) > 1:
        raise ValueError(f"expected at most one role (aws-native assumes a single role, no chain); found {len(roles)}")
    return roles


def _one_report_per_team(reports: list[KpiReportArgs]) -> list[KpiReportArgs]:
    unique(reports, lambda r: r.team, "team", "kpiReports")
    return reports


class PlatformConfig(StrictModel):
    """The whole stack configuration."""

    region: Annotated[str, one_of(SUPPORTED_REGIONS)] = Field(
        alias="aws:region",
        description=f"AWS region of the stack (`aws:region`): one of {', '.join(SUPPORTED_REGIONS)} (where every "
                    "capability's services and instance types are in the catalog).",
    )
    profile: str | None = Field(
        default=None, alias="aws:profile",
        description="The AWS CLI profile the stack's aws and aws-native providers use (`aws:profile`).")
    assume_roles: Annotated[list[AssumeRole], AfterValidator(_one_role)] = Field(
        default_factory=list, alias="aws:assumeRoles",
        description="The role the stack's aws and aws-native providers assume (`aws:assumeRoles`, one entry: "
                    "aws-native takes a single role).")
    allowed_account_ids: list[Annotated[str, StringConstraints(pattern=r"^\d{12}$")]] = Field(
        default_factory=list, alias="aws:allowedAccountIds",
        description="The only accounts the stack may deploy into (`aws:allowedAccountIds`): a wrong profile fails "
                    "before anything is created.")
    environment: Environment = Field(description="Which environment this stack is: dev, staging or prod.")
    tags: Tags = Field(description="Ownership tags applied to every taggable resource.")
    policy: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="This stack's own settings of policy-pack policies, over its environment's (policy name -> "
                    "settings, e.g. `bedrock-throughput-budget: {maxThroughputUsdPerHour: 30}`): read by the pack, "
                    "checked against each policy's settings schema and shown by `mlplat plan`.")
    name_prefix: Annotated[str | None, AfterValidator(_name_prefix)] = Field(
        default=None,
        description="What every fixed physical name starts with (clusters, functions, buckets, log groups, the "
                    "KMS alias `alias/ml-platform/<prefix without mlplat->`...). Default: `mlplat-<stack>`, so two "
                    "stacks of one environment in one account never collide. Set it to keep the names of a stack "
                    "deployed before names followed the stack (e.g. `mlplat-prod` for a stack `prod-eu`).",
    )
    network: NetworkArgs = Field(description="The VPC: created, or an existing one.")
    gpu_cluster: GpuClusterArgs = Field(default_factory=GpuClusterArgs, description="EKS GPU cluster with EFA.")
    training_jobs: Annotated[list[TrainingJobArgs], UniqueByName] = Field(
        default_factory=list, description="FSDP PyTorchJobs run on the GPU cluster's node groups."
    )
    ray_jobs: Annotated[list[CurationRayJobArgs], UniqueByName] = Field(
        default_factory=list, description="Corpus curation (`mlplat corpus curate`) as KubeRay RayJobs on the cluster."
    )
    canvas: CanvasArgs = Field(
        default_factory=CanvasArgs, description="SageMaker Canvas domain behind IAM Identity Center."
    )
    endpoints: Annotated[list[EndpointArgs], UniqueByName] = Field(
        default_factory=list, description="SageMaker JumpStart endpoints."
    )
    shared_endpoints: Annotated[list[SharedEndpointArgs], UniqueByName] = Field(
        default_factory=list, description="Endpoints that host several of the endpoints[] models (their "
                                          "sharedEndpoint) as inference components on one instance type."
    )
    bedrock: BedrockArgs = Field(
        default_factory=BedrockArgs,
        description="Bedrock fine-tuning, continued pre-training, Provisioned Throughput, invocation logging."
    )
    rag: RagArgs = Field(default_factory=RagArgs, description="The advanced RAG service over two of the endpoints.")
    live_chat: LiveChatArgs = Field(default_factory=LiveChatArgs, description="Lex + Talkdesk live-agent chat.")
    storage: StorageArgs = Field(default_factory=StorageArgs, description="What every bucket shares.")
    kpi_reports: Annotated[list[KpiReportArgs], AfterValidator(_one_report_per_team)] = Field(
        default_factory=list, description="DORA KPI reports summarized by a Bedrock model and emailed."
    )

    @model_validator(mode="before")
    @classmethod
    def _environment_defaults(cls, data: Any) -> Any:
        """Fill what the stack file leaves out from the environment's defaults, before validation,
        so that after parsing no setting is left undecided (and nothing downstream works it out again)."""
        if not isinstance(data, dict) or not isinstance(data.get("environment"), str):
            return data
        defaults = ENVIRONMENT_DEFAULTS.get(data["environment"])
        if defaults is None:
            return data
        data = dict(data)
        for (section, key), setting in CONFIG_DEFAULTS:
            value = data.get(section, {})
            if not isinstance(value, dict):
                continue
            snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in key)
            if key not in value and snake not in value:
                data[section] = {**value, key: getattr(defaults, setting)}
        return data

    @property
    def defaults(self) -> EnvironmentDefaults:
        return ENVIRONMENT_DEFAULTS[self.environment]

    @property
    def uses_aws_native(self) -> bool:
        """Whether any component creates aws-native resources: the Lex bot (live chat), and the endpoint
        configurations and inference components of scale-to-zero and shared endpoints."""
        return (self.live_chat.enabled or bool(self.shared_endpoints)
                or any(ep.scale_to_zero.enabled or ep.shared_endpoint for ep in self.endpoints))

    @property
    def resource_prefix(self) -> str:
        """The physical-name prefix (`namePrefix`, set from the stack by `stacks.config.parse`)."""
        return self.name_prefix or f"mlplat-{self.environment}"

    @property
    def name_scope(self) -> str:
        """The prefix without `mlplat-`: the KMS alias (`ml-platform/<scope>`) and secret paths (`<scope>/...`)."""
        return self.resource_prefix.removeprefix("mlplat-")
