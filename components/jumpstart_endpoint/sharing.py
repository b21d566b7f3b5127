"""Several JumpStart models on one endpoint: how many GPUs, cores and how much memory each model's copy asks for,
and whether the models fit one instance (pure: the config check, the component and the cost view use it).

A copy is sized by GPU memory: the model's spec is validated on its default instance type, so a copy gets enough
of the shared instance's GPUs to hold that instance's GPU memory (Mixtral 8x7B: 8 x 24 GiB A10G = 192 GiB, so 8 GPUs
of an ml.g5.48xlarge or 5 of an ml.p4d.24xlarge's 40 GiB A100s), unless acceleratorsPerCopy says otherwise (then at
least that memory is still required). Cores and host memory follow the copy's share of the GPUs (a CPU instance:
an equal share per model), less one core and 2 GiB the instance's agents keep (as a whole-instance copy does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from components.catalog.jumpstart import JumpStartSpec
from components.catalog.sagemaker_instances import SAGEMAKER_INSTANCES, SageMakerInstance

MEMORY_RESERVED_GIB = 2  # the instance's own agents


@dataclass(frozen=True)
class Copy:
    """One model's copy on the shared instance."""

    endpoint: str
    accelerators: int
    gpu_memory_needed_gib: int  # what the model's default instance type offers

    def requirements(self, instance: SageMakerInstance, members: int) -> dict[str, float | int]:
        share = self.accelerators / instance.gpus if instance.gpus else 1 / members
        requirements: dict[str, float | int] = {
            "number_of_cpu_cores_required": float(max(1, math.floor((instance.vcpus - 1) * share))),
            "min_memory_required_in_mb": int((instance.memory_gib - MEMORY_RESERVED_GIB) * share * 1024),
        }
        if self.accelerators:
            requirements["number_of_accelerator_devices_required"] = float(self.accelerators)
        return requirements


def copy_of(endpoint: str, spec: JumpStartSpec, instance: SageMakerInstance, override: int | None) -> Copy:
    default = SAGEMAKER_INSTANCES[spec.default_instance_type]
    need = default.gpus * default.gpu_memory_gib
    if override is not None:
        return Copy(endpoint, override, need)
    if need == 0 or not instance.gpu_memory_gib:
        return Copy(endpoint, 0, need)
    return Copy(endpoint, math.ceil(need / instance.gpu_memory_gib), need)


def fit_problems(instance: SageMakerInstance, copies: list[Copy]) -> list[tuple[str, str]]:
    """(endpoint, why) for every copy that cannot run, and for copies that together exceed the instance's GPUs."""
    problems = []
    for c in copies:
        if c.gpu_memory_needed_gib and not instance.gpus:
            problems.append((c.endpoint, f"needs GPUs ({c.gpu_memory_needed_gib} GiB of GPU memory on its default "
                                         f"instance type); {instance.name} has none"))
        elif c.accelerators * instance.gpu_memory_gib < c.gpu_memory_needed_gib:
            problems.append((c.endpoint, f"{c.accelerators} x {instance.gpu_memory_gib} GiB of {instance.name}'s GPU "
                                         f"memory is less than the {c.gpu_memory_needed_gib} GiB its default "
                                         "instance type gives it"))
    used = sum(c.accelerators for c in copies)
    if instance.gpus and used > instance.gpus:
        detail = " + ".join(f"{c.endpoint} {c.accelerators}" for c in copies)
        problems.append((copies[-1].endpoint, f"the models' copies need {used} GPUs ({detail}); {instance.name} has "
                                              f"{instance.gpus}: the sizes do not allow sharing it"))
    return problems
