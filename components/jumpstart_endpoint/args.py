"""`ml-platform:endpoints[]`."""

from __future__ import annotations

from pydantic import Field, model_validator

from components.base import StrictModel, problem


class Autoscaling(StrictModel):
    min_capacity: int = Field(default=1, ge=1, le=100, description="Minimum instances.")
    max_capacity: int = Field(default=2, ge=1, le=100, description="Maximum instances.")
    target_invocations_per_instance: int = Field(
        default=50, ge=1, description="Target of SageMakerVariantInvocationsPerInstance (per minute)."
    )
    scale_in_cooldown: int = Field(default=600, ge=0, description="Seconds between scale-in activities.")
    scale_out_cooldown: int = Field(default=60, ge=0, description="Seconds between scale-out activities.")

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_capacity > self.max_capacity:
            raise problem("minCapacity",
                          f"expected at most maxCapacity ({self.max_capacity}); found {self.min_capacity}")
        return self


#: Where an environment requires scale to zero, an always-on endpoint says why in this tag (the pack reads it).


class ScaleToZero(StrictModel):
    """The endpoint as an inference component on managed instance scaling (SageMaker developer guide, "Scale an
    endpoint to zero instances"): no instance while idle, the first request after that wakes it."""

    enabled: bool = Field(default=False, description="Deploy as an inference component that scales to zero.")
    max_instances: int = Field(default=1, ge=1, le=20, description="Maximum instances (one model copy each).")
    target_invocations_per_copy: int = Field(
        default=10, ge=1, description="Target of SageMakerInferenceComponentInvocationsPerCopy (per minute). Scale-in "
                                      "to zero copies follows Application Auto Scaling's scale-in alarm: about 15 "
                                      "minutes without invocations (AWS: the alarm needs 15 minutes of datapoints).")
    always_on_reason: str | None = Field(
        default=None, min_length=10, max_length=200,
        description="Why this endpoint stays on while idle, where the environment requires scale to zero (dev).")

    @model_validator(mode="after")
    def _reason(self) -> ScaleToZero:
        if self.enabled and self.always_on_reason:
            raise problem("alwaysOnReason", "expected no reason to stay on for an endpoint that scales to zero; "
                                            f"found {self.always_on_reason!r}")
        return self


class DataCapture(StrictModel):
    enabled: bool = Field(default=False, description="Capture requests and responses to S3.")
    sampling_percentage: int = Field(default=20, ge=1, le=100, description="Share of requests captured.")


class EndpointArgs(StrictModel):
    name: str = Field(
        max_length=30, pattern=r"^[a-z0-9](-?[a-z0-9])*$",
        description="Endpoint name within the stack (30 characters: SageMaker names stop at 63 with the prefix).",
    )
    model_id: str = Field(description="JumpStart model id, e.g. huggingface-llm-mixtral-8x7b-instruct.")
    model_version: str | None = Field(
        default=None, description="Spec version (default: the pinned one; others are read from the hub at deploy)."
    )
    instance_type: str | None = Field(default=None, description="Instance type (default: the model's default).")
    initial_instance_count: int = Field(default=1, ge=1, le=100, description="Instances at creation.")
    autoscaling: Autoscaling | None = Field(default=None, description="Target tracking on invocations per instance.")
    model_package_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[\w-]+(/\d+)?$",
        description="AWS Marketplace model package ARN for this region (subscribe to the listing first).",
    )
    accept_eula: bool = Field(default=False, description="Accept the model's EULA (required for gated models).")
    data_capture: DataCapture = Field(default_factory=DataCapture, description="Data capture to S3.")
    scale_to_zero: ScaleToZero = Field(default_factory=ScaleToZero, description="Scale to zero when idle.")
    shared_endpoint: str | None = Field(
        default=None, description="Run as an inference component on this ml-platform:sharedEndpoints[] endpoint, "
                                  "beside other models: its copies scale from 0 to scaleToZero.maxInstances on their "
                                  "own; the endpoint's instances follow the copies.")
    accelerators_per_copy: int | None = Field(
        default=None, ge=1, le=8, description="GPUs per copy on the shared endpoint (default: enough of its GPUs to "
                                              "hold the GPU memory of the model's default instance type).")
    allow_unlisted_instance_type: bool = Field(
        default=False, description="Run on a shared endpoint whose instance type the model's JumpStart spec does not "
                                   "list (SupportedInferenceInstanceTypes): its image is then the one chosen for the "
                                   "instance family, on hardware its publisher did not validate. The plan warns.")

    @model_validator(mode="after")
    def _one_scaling(self) -> EndpointArgs:
        if self.shared_endpoint is not None:
            extra = [k for k, on in (("autoscaling", self.autoscaling is not None),
                                     ("dataCapture", self.data_capture.enabled),
                                     ("modelPackageArn", self.model_package_arn is not None),
                                     ("instanceType", self.instance_type is not None)) if on]
            if extra:
                raise problem(extra[0], f"a model on a shared endpoint scales its copies and takes the endpoint's "
                                        f"instance type and capture: expected none of {', '.join(extra)}; found "
                                        f"{extra[0]}")
        elif self.accelerators_per_copy is not None or self.allow_unlisted_instance_type:
            key = "acceleratorsPerCopy" if self.accelerators_per_copy is not None else "allowUnlistedInstanceType"
            raise problem(key, "only a model on a shared endpoint takes this: expected sharedEndpoint too; found none")
        if self.scale_to_zero.enabled and self.autoscaling is not None:
            raise problem("autoscaling", "expected autoscaling or scaleToZero, not both: a scale-to-zero endpoint "
                                         "scales its model copies (scaleToZero.maxInstances); found both")
        if self.scale_to_zero.enabled and self.model_package_arn is not None:
            raise problem(("scaleToZero", "enabled"), "expected a JumpStart model: Marketplace model packages are "
                                                      "deployed always-on here (inference components with model "
                                                      "packages are not verified); found a modelPackageArn")
        return self


class SharedEndpointArgs(StrictModel):
    """`ml-platform:sharedEndpoints[]`: one endpoint whose instances host several models as inference components
    (endpoints[].sharedEndpoint), each model with its own copies and scale-to-zero."""

    name: str = Field(max_length=30, pattern=r"^[a-z0-9](-?[a-z0-9])*$", description="Endpoint name within the stack.")
    instance_type: str = Field(description="Instance type every model's copies share.")
    max_instances: int = Field(default=1, ge=1, le=20, description="Maximum instances (managed instance scaling from "
                                                                    "0: no instance while no model has a copy).")
