#!/usr/bin/env python3
"""The PyTorch side of joule's training comparison: resnet-mini trained with DDP over gloo on CPU, one thread
per rank, LBS 32, synthetic 28x28x1 data; prints one JSON line with the samples/s of all ranks together.

Usage: python3 bench/torch/ddp_resnet_mini.py --ranks 2 --steps 60 --warmup 10 --lbs 32
(with the python that has torch: Debian's /usr/bin/python3 and python3-torch)
"""
import argparse
import json
import os
import socket
import time

try:
    import torch
except ImportError:
    raise SystemExit("no torch module for this python: run Debian's /usr/bin/python3 (package python3-torch)")
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

# The count joule's resnet-mini has (src/train/models/resnet.ts): the two must train the same network.
RESNET_MINI_PARAMETERS = 77754


class BasicBlock(nn.Module):
    def __init__(self, channels_in, channels_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.shortcut = None
        if stride != 1 or channels_in != channels_out:
            self.shortcut = nn.Sequential(nn.Conv2d(channels_in, channels_out, 1, stride, bias=False), nn.BatchNorm2d(channels_out))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNetMini(nn.Module):
    """Input 28x28x1; conv 3x3 1->16 + BN + ReLU; blocks 16->16, 16->32 /2, 32->64 /2; global average pool; dense 64->10."""

    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2))
        self.head = nn.Linear(64, classes)

    def forward(self, x):
        y = self.blocks(self.stem(x))
        return self.head(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_main(rank, ranks, port, options, results):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=ranks)
    torch.manual_seed(options.seed)  # same initial weights everywhere (DDP also broadcasts rank 0's)
    model = DistributedDataParallel(ResNetMini())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    generator = torch.Generator().manual_seed(options.seed + rank)
    x = torch.randn(options.lbs, 1, 28, 28, generator=generator)
    labels = torch.randint(0, 10, (options.lbs,), generator=generator)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        optimizer.step()
        return loss

    for _ in range(options.warmup):
        step()
    dist.barrier()
    start = time.perf_counter()
    for _ in range(options.steps):
        loss = step()
    dist.barrier()
    duration_s = time.perf_counter() - start
    if rank == 0:
        results.put({"durationS": duration_s, "finalLoss": float(loss)})
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", type=int, default=1, help="processes, one thread each (default 1)")
    parser.add_argument("--steps", type=int, default=60, help="timed steps (default 60)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    parser.add_argument("--lbs", type=int, default=32, help="local batch size (default 32)")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    if options.ranks < 1 or options.steps < 1 or options.warmup < 0 or options.lbs < 1:
        parser.error("--ranks, --steps and --lbs must be at least 1, --warmup at least 0")

    parameters = sum(p.numel() for p in ResNetMini().parameters() if p.requires_grad)
    if parameters != RESNET_MINI_PARAMETERS:
        raise SystemExit(f"resnet-mini has {parameters} parameters here, {RESNET_MINI_PARAMETERS} in joule")

    context = mp.get_context("spawn")
    results = context.SimpleQueue()
    mp.start_processes(rank_main, args=(options.ranks, free_port(), options, results), nprocs=options.ranks,
                       start_method="spawn")
    result = results.get()
    samples_per_s = options.steps * options.lbs * options.ranks / result["durationS"]
    print(json.dumps({
        "framework": "pytorch", "torch": torch.__version__, "backend": "gloo", "model": "resnet-mini",
        "parameters": parameters, "ranks": options.ranks, "threadsPerRank": 1, "lbs": options.lbs,
        "steps": options.steps, "warmup": options.warmup, "durationS": result["durationS"],
        "samplesPerS": samples_per_s, "samplesPerSPerRank": samples_per_s / options.ranks,
        "stepS": result["durationS"] / options.steps, "finalLoss": result["finalLoss"],
        "loadAverage": list(os.getloadavg()),
    }))


if __name__ == "__main__":
    main()
