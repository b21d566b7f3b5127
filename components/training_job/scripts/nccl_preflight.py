"""NCCL all-reduce preflight: run before a long job on an EFA node group (EKS EFA guide: test with NCCL first).

    torchrun --nproc_per_node=8 --nnodes=2 ... nccl_preflight.py [--min-busbw-gbps 0]

Times all_reduce over message sizes from 8 MiB to 1 GiB and prints, per size, the bus bandwidth the way
nccl-tests reports it (busbw = size / time x 2 (n - 1) / n). A busbw under --min-busbw-gbps at the largest size
fails the job (exit 1): the usual cause is NCCL falling back to TCP sockets because a pod did not get its EFA
devices, or the aws-ofi-nccl plugin is missing from the image (`NCCL_DEBUG=INFO` shows `NET/OFI` when EFA is used).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
import torch.distributed as dist


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--min-busbw-gbps", type=float, default=0.0, help="fail below this at the largest size")
    p.add_argument("--iterations", type=int, default=20)
    args = p.parse_args(argv)
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    busbw = 0.0
    for size_mib in (8, 64, 256, 1024) if cuda else (1, 4):
        tensor = torch.ones(size_mib * 2**20 // 4, dtype=torch.float32, device=device)
        for _ in range(3):  # warm-up
            dist.all_reduce(tensor)
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(args.iterations):
            dist.all_reduce(tensor)
        if cuda:
            torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / args.iterations
        algbw = size_mib * 2**20 / seconds
        busbw = algbw * 2 * (world - 1) / world * 8 / 1e9
        if rank == 0:
            print(json.dumps({"sizeMiB": size_mib, "ranks": world, "busbwGbps": round(busbw, 1)}), flush=True)
    ok = busbw >= args.min_busbw_gbps
    if rank == 0 and not ok:
        print(json.dumps({"failed": f"busbw {busbw:.1f} Gbps under {args.min_busbw_gbps} Gbps"}), flush=True)
    dist.destroy_process_group()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
