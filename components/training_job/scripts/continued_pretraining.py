"""Continued pre-training of a causal LM on `mlplat corpus curate` token shards, under torchrun with FSDP.

Mounted into the PyTorchJob's pods from a ConfigMap; needs torch, transformers and boto3 in the image. Each
node's first process downloads the shards (index.json, <rank>.bin, <rank>.idx) from --tokens (an S3 prefix)
to local disk; every process then reads its share of the sequences. Rank 0 writes the model (safetensors) and
uploads it to --output. The shards must come from the model's own tokenizer (`--tokenizer tokenizer.json` when
curating): the byte tokenizer's ids mean nothing to a pretrained model, and the script refuses them.
Master weights stay fp32 and compute runs in bf16 (FSDP MixedPrecision). With --checkpoint-dir, sharded
checkpoints go to shared storage every --checkpoint-every steps and a restarted job continues from the latest.

    torchrun ... continued_pretraining.py --model EleutherAI/pythia-1b --tokens s3://b/corpus/tokens/ \\
        --output s3://b/models/run-1/ --epochs 1 --batch-size 4 --lr 2e-5
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

LOCAL = Path(os.environ.get("MLPLAT_DATA_DIR", "/data/tokens"))
#: Fault drill: the first attempt fails after this step, as a lost node would (torchrun restarts the workers).
FAULT_AT_STEP = int(os.environ.get("MLPLAT_FAULT_AT_STEP", "0"))


def s3_parts(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def download(uri: str, target: Path) -> None:
    """index.json and every shard it names, unless already present (a restarted pod keeps its emptyDir)."""
    import boto3

    s3 = boto3.client("s3")
    bucket, prefix = s3_parts(uri)
    target.mkdir(parents=True, exist_ok=True)
    s3.download_file(bucket, f"{prefix}index.json", str(target / "index.json"))
    index = json.loads((target / "index.json").read_text())
    for shard in index["shards"]:
        for name in (shard["data"], shard["index"]):
            if not (target / name).exists():
                s3.download_file(bucket, f"{prefix}{name}", str(target / name))


class Shards(torch.utils.data.Dataset):
    def __init__(self, folder: Path, vocab_size: int) -> None:
        index = json.loads((folder / "index.json").read_text())
        if index["tokenizer"] == "bytes":
            raise SystemExit("token shards were curated with the byte tokenizer: curate again with the model's "
                             "tokenizer.json (--tokenizer)")
        if index["vocabSize"] > vocab_size:
            raise SystemExit(f"shards use a vocabulary of {index['vocabSize']} ids; the model has {vocab_size}")
        self.max_tokens = index["maxTokens"]
        self.items: list[tuple[np.ndarray, int, int]] = []
        for shard in index["shards"]:
            if not shard["sequences"]:
                continue
            data = np.memmap(folder / shard["data"], dtype=index["dtype"], mode="r")
            ends = np.fromfile(folder / shard["index"], dtype="<u8")
            starts = np.concatenate([[0], ends[:-1]])
            self.items += [(data, int(a), int(b)) for a, b in zip(starts, ends, strict=True)]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        data, start, end = self.items[i]
        ids = torch.full((self.max_tokens,), 0, dtype=torch.long)
        ids[: end - start] = torch.from_numpy(data[start:end].astype(np.int64))
        mask = torch.zeros(self.max_tokens, dtype=torch.long)
        mask[: end - start] = 1
        labels = ids.masked_fill(mask == 0, -100)
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def decoder_layer_policy(model):
    """FSDP units of one decoder layer each: without a policy FSDP wraps the whole model as one unit and gathers every
    parameter at once, so a model larger than pythia-1b needs its full size on each GPU. The layer classes are the
    ones Hugging Face declares unsplittable (`_no_split_modules`, e.g. GPTNeoXLayer, LlamaDecoderLayer); the PyTorch
    FSDP tutorial wraps transformer blocks with `transformer_auto_wrap_policy` the same way. None: no such class."""
    import functools

    from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy

    names = set(getattr(model, "_no_split_modules", None) or [])
    layers = {type(m) for m in model.modules() if type(m).__name__ in names}
    if not layers:
        return None
    return functools.partial(transformer_auto_wrap_policy, transformer_layer_cls=layers)


def mixed_precision(precision: str):
    """FSDP's policy: parameters and buffers cast to bf16 for compute, gradients reduced in fp32, while the
    sharded master parameters and AdamW's state stay fp32 (the module is never cast). AdamW on bf16 parameters
    loses most small updates: near |w| = 0.02 one bf16 step is about 1.2e-4, so an lr of 2e-5 rounds away."""
    if precision != "bf16":
        return None
    from torch.distributed.fsdp import MixedPrecision

    return MixedPrecision(param_dtype=torch.bfloat16, reduce_dtype=torch.float32, buffer_dtype=torch.bfloat16)


def train_step(model: torch.nn.Module, batch: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer,
               device: torch.device, precision: str) -> torch.Tensor:
    """One optimizer step. On GPUs FSDP's MixedPrecision does the casting; on CPU (tests) autocast stands in for
    it with the same effect: fp32 parameters, bf16 compute."""
    autocast = device.type == "cpu" and precision == "bf16"
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = model(**{k: v.to(device) for k, v in batch.items()}).loss
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss


class Checkpoints:
    """Sharded checkpoints on shared storage (FSx for Lustre): model and optimizer through
    torch.distributed.checkpoint (each rank writes its own shards), then `latest.json` (step, scheduler state)
    written by rank 0 once every rank is done: a crash mid-write leaves the previous checkpoint in force."""

    def __init__(self, folder: str | None, every: int, rank: int) -> None:
        self.folder = Path(folder) if folder else None
        self.every, self.rank = every, rank

    def latest(self) -> dict | None:
        marker = self.folder / "latest.json" if self.folder else None
        return json.loads(marker.read_text()) if marker is not None and marker.is_file() else None

    def save(self, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, schedule) -> None:
        if self.folder is None or step % self.every:
            return
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_state_dict

        model_state, optim_state = get_state_dict(model, optimizer)
        path = self.folder / f"step-{step:08d}"
        dcp.save({"model": model_state, "optim": optim_state}, checkpoint_id=str(path))
        dist.barrier()
        if self.rank == 0:
            tmp = self.folder / "latest.json.tmp"
            tmp.write_text(json.dumps({"step": step, "path": path.name, "schedule": schedule.state_dict()}))
            tmp.replace(self.folder / "latest.json")
            print(json.dumps({"checkpoint": step}), flush=True)
        dist.barrier()

    def restore(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, schedule) -> int:
        """The step to continue from (0 without a checkpoint)."""
        latest = self.latest()
        if latest is None:
            return 0
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

        model_state, optim_state = get_state_dict(model, optimizer)
        state = {"model": model_state, "optim": optim_state}
        dcp.load(state, checkpoint_id=str(self.folder / latest["path"]))
        set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"])
        schedule.load_state_dict(latest["schedule"])
        if self.rank == 0:
            print(json.dumps({"resumed": latest["step"]}), flush=True)
        return int(latest["step"])


def main(argv: list[str] | None = None) -> None:
    from transformers import AutoModelForCausalLM

    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--tokens", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--warmup", type=float, default=0.03, help="fraction of the steps")
    p.add_argument("--precision", choices=("bf16", "fp32"), default="bf16",
                   help="compute precision; master weights and optimizer state are always fp32")
    p.add_argument("--checkpoint-dir", help="shared folder for sharded checkpoints (resumes from its latest)")
    p.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints")
    args = p.parse_args(argv)

    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    folder = LOCAL if args.tokens.startswith("s3://") else Path(args.tokens)  # or a mounted folder
    if local_rank == 0 and args.tokens.startswith("s3://"):
        download(args.tokens, LOCAL)
    dist.barrier()

    model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32)
    data = Shards(folder, model.config.vocab_size)
    sampler = torch.utils.data.distributed.DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch_size, sampler=sampler, drop_last=False)
    if cuda:
        from torch.distributed.fsdp import FullyShardedDataParallel, ShardingStrategy

        model = FullyShardedDataParallel(model.to(device), sharding_strategy=ShardingStrategy.FULL_SHARD,
                                         mixed_precision=mixed_precision(args.precision), use_orig_params=True,
                                         auto_wrap_policy=decoder_layer_policy(model), device_id=device)
    else:
        model = torch.nn.parallel.DistributedDataParallel(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1)
    total = max(1, args.epochs * len(loader))
    warmup = max(1, int(total * args.warmup))

    def lr_factor(s: int) -> float:  # linear warm-up, then cosine decay to zero
        if s < warmup:
            return (s + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warmup) / max(1, total - warmup))))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    checkpoints = Checkpoints(args.checkpoint_dir, args.checkpoint_every, rank)
    step = checkpoints.restore(model, optimizer, schedule)
    for epoch in range(step // len(loader) if len(loader) else 0, args.epochs):
        sampler.set_epoch(epoch)
        for i, batch in enumerate(loader):
            if epoch * len(loader) + i < step:
                continue  # done before the restart: the sampler's order for this epoch is the same
            loss = train_step(model, batch, optimizer, device, args.precision)
            schedule.step()
            step += 1
            if rank == 0 and step % 10 == 0:
                print(json.dumps({"step": step, "of": total, "loss": round(loss.item(), 4)}), flush=True)
            checkpoints.save(step, model, optimizer, schedule)
            if step == FAULT_AT_STEP and os.environ.get("TORCHELASTIC_RESTART_COUNT", "0") == "0":
                raise RuntimeError(f"injected fault at step {step} (MLPLAT_FAULT_AT_STEP)")
    save(model, args.output, rank, cuda)
    dist.barrier()
    dist.destroy_process_group()


def save(model: torch.nn.Module, output: str, rank: int, cuda: bool) -> None:
    if cuda:
        from torch.distributed.fsdp import FullStateDictConfig, FullyShardedDataParallel, StateDictType

        policy = FullStateDictConfig(offload_to_cpu=True, rank0_only=True)
        with FullyShardedDataParallel.state_dict_type(model, StateDictType.FULL_STATE_DICT, policy):
            state = model.state_dict()
    else:
        state = model.module.state_dict()
    if rank != 0:
        return
    inner = model.module
    target = Path(output) if not output.startswith("s3://") else Path("/tmp/mlplat-model")
    inner.save_pretrained(target, state_dict=state, safe_serialization=True)
    if output.startswith("s3://"):
        import boto3

        bucket, prefix = s3_parts(output)
        s3 = boto3.client("s3")
        for path in target.rglob("*"):
            if path.is_file():
                s3.upload_file(str(path), bucket, f"{prefix}{path.relative_to(target)}")
    print(json.dumps({"saved": output}), flush=True)


if __name__ == "__main__":
    main()
