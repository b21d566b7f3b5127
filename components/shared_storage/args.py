"""`ml-platform:gpuCluster.sharedStorage`: an FSx for Lustre file system the training jobs mount."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.base import S3_PREFIX, StrictModel, problem


class SharedStorageArgs(StrictModel):
    enabled: bool = Field(default=False, description="Create an FSx for Lustre file system the training jobs mount "
                                                     "at /fsx (checkpoints go to /fsx/checkpoints/<job>-<runId>/).")
    availability_zone: str | None = Field(
        default=None, description="AZ of the file system (default: the first GPU node group's): put it where the "
                                  "GPU nodes are, cross-AZ traffic is billed.")
    storage_capacity_gib: int = Field(
        default=1200, ge=1200, alias="storageCapacityGiB",
        description="1200 GiB, or a multiple of 2400 GiB (PERSISTENT_2 SSD).")
    throughput_per_tib: Literal[125, 250, 500, 1000] = Field(
        default=125, alias="throughputPerTiB",
        description="MB/s per TiB of storage (PERSISTENT_2: 125, 250, 500 or 1000).")
    data_repository_path: str | None = Field(
        default=None, description="An S3 prefix linked at /fsx/data (data repository association): objects appear "
                                  "as files, new and changed files are exported back.")

    @field_validator("storage_capacity_gib")
    @classmethod
    def _capacity(cls, value: int) -> int:
        if value != 1200 and value % 2400:
            raise ValueError("expected 1200 or a multiple of 2400 GiB (FSx for Lustre PERSISTENT_2 SSD)")
        return value

    @field_validator("data_repository_path")
    @classmethod
    def _s3(cls, value: str | None) -> str | None:
        if value is not None and not S3_PREFIX.match(value):
            raise ValueError("expected an S3 prefix ending in /, e.g. s3://my-bucket/training/")
        return value

    @model_validator(mode="after")
    def _az(self) -> SharedStorageArgs:
        if self.availability_zone is not None and not re.match(r"^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$",
                                                              self.availability_zone):
            raise problem("availabilityZone", f"expected an availability zone such as us-east-1a; found "
                                              f"{self.availability_zone!r}")
        return self
