"""Several JumpStart models on one endpoint: how many GPUs, cores and how much memory each model's copy asks for,
and whether the models fit one instance (pure: the config check, the component and the cost view use it).

A copy is sized by what the model needs. A model whose shape the catalog knows (its weights and attention layout,
catalog/jumpstart.py MODEL_SHAPES) needs its weights plus KV-cache headroom in GPU memory, spread over a number of
GPUs the server accepts: TGI shards a model over N GPUs only when its attention heads, key-value heads and
intermediate size divide by N (text-generation-inference `flash_mixtral_modeling.py`: "`num_heads` must be divisible
by `num_shards`"), so Mixtral 8x7B (32 heads, 8 KV heads, 14,336) runs on 1, 2, 4 or 8 GPUs: 4 x 40 GiB A100 of an
ml.p4d.24xlarge, 8 x 24 GiB A10G of an ml.g5.48xlarge; 5 GPUs would fail at start. Any other model needs the GPU
memory of its default instance type (the instance its spec is validated on). acceleratorsPerCopy may ask for more.
Cores and host memory follow the copy's share of the GPUs (a CPU instance: an equal share per model), less one core
and 2 GiB the instance's agents keep (as a whole-instance copy does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from components.catalog.jumpstart import MODEL_SHAPES, JumpStartSpec
from components.catalog.sagemaker_instances import SAGEMAKER_INSTANCES, SageMakerInstance

MEMORY_RESERVED_GIB = 2  # the instance's own agents


@dataclass(frozen=True)
class Copy:
    """One model's copy on the shared instance."""

    endpoint: str
    accelerators: int
    gpu_memory_needed_gib: int  # the model's weights and headroom, or what its default instance type offers
    model_id: str = ""

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
    shape = MODEL_SHAPES.get(spec.model_id)
    if shape is not None:
        need = math.ceil(shape.gpu_memory_gib)
    else:
        default = SAGEMAKER_INSTANCES[spec.default_instance_type]
        need = default.gpus * default.gpu_memory_gib
    if override is not None:
        return Copy(endpoint, override, need, spec.model_id)
    if need == 0 or not instance.gpu_memory_gib:
        return Copy(endpoint, 0, need, spec.model_id)
    gpus = math.ceil(need / instance.gpu_memory_gib)
    if shape is not None:  # the smallest shard count the server accepts (there may be none within the instance)
        gpus = next((n for n in shape.shard_counts(instance.gpus) if n >= gpus), gpus)
    return Copy(endpoint, gpus, need, spec.model_id)


def fit_problems(instance: SageMakerInstance, copies: list[Copy]) -> list[tuple[str, str]]:
    """(endpoint, why) for every copy that cannot run, and for copies that together exceed the instance's GPUs."""
    problems = []
    for c in copies:
        shape = MODEL_SHAPES.get(c.model_id)
        if shape is not None and c.accelerators and c.accelerators not in shape.shard_counts(c.accelerators):
            problems.append((c.endpoint, f"{c.accelerators} GPUs: the server shards this model only over a number "
                                         f"of GPUs its {shape.heads} attention heads, {shape.kv_heads} key-value heads "
                                         f"and intermediate size {shape.intermediate} divide by "
                                         f"({', '.join(map(str, shape.shard_counts(max(8, instance.gpus))))})"))
            continue
        if c.gpu_memory_needed_gib and not instance.gpus:
            problems.append((c.endpoint, f"needs GPUs ({c.gpu_memory_needed_gib} GiB of GPU memory on its default "
                                         f"instance type); {instance.name} has none"))
        elif c.accelerators * instance.gpu_memory_gib < c.gpu_memory_needed_gib:
            problems.append((c.endpoint, f"{c.accelerators} x {instance.gpu_memory_gib} GiB of {instance.name}'s GPU "
                                         f"memory is less than the {c.gpu_memory_needed_gib} GiB it needs"))
    used = sum(c.accelerators for c in copies)
    if instance.gpus and used > instance.gpus:
        detail = " + ".join(f"{c.endpoint} {c.accelerators}" for c in copies)
        problems.append((copies[-1].endpoint, f"the models' copies need {used} GPUs ({detail}); {instance.name} has "
                                              f"{instance.gpus}: the sizes do not allow sharing it"))
    return problems
