"""`--executor ray`: the same stages through datatrove's `RayPipelineExecutor`.

Connects to the cluster in `RAY_ADDRESS` (a RayJob's driver has it set) or starts a local runtime with
`--workers` CPUs. On a multi-node cluster the input, `--output` and its `.work` folder must be on storage every
node reads (S3 with the `ray` extra's s3fs, or a shared file system): each stage reads what the previous wrote.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from datatrove.executor.ray import RayPipelineExecutor
from loguru import logger

from mlruntime.corpus.config import CurateOptions


class QuietRayExecutor(RayPipelineExecutor):
    """As `QuietLocalExecutor`: task logs go to the logging folder, not the driver's stderr."""

    def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
        return super()._run_for_rank(rank, local_rank + 1, node_rank)


def ray_executor(opts: CurateOptions, work: str) -> Callable[..., Any]:
    import ray

    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=False)
        else:
            ray.init(num_cpus=opts.workers, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)

    if os.environ.get("RAY_ADDRESS") and "://" not in work:
        logger.warning(f"{work} is a local path: on a multi-node Ray cluster every node must see it (use s3:// "
                       "or a shared file system)")

    def make(pipeline: list, tasks: int, stage: str) -> RayPipelineExecutor:
        logger.disable("datatrove.executor.ray")  # its local-folder warning, once per stage; ours is above
        try:
            return QuietRayExecutor(pipeline, tasks=tasks, workers=min(opts.workers, tasks),
                                    logging_dir=f"{work}/logs/{stage}", skip_completed=False, cpus_per_task=1,
                                    mem_per_cpu_gb=1)
        finally:
            logger.enable("datatrove.executor.ray")

    return make
