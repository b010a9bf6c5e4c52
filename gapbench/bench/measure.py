"""What the bench measures besides time: the device's and the processes' peak memory."""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path
from typing import Any

from gapbench.bench.workload import EngineRun


def on_cuda(device: str | None) -> bool:
    import torch

    return torch.cuda.is_available() if device is None else device.startswith("cuda")


def sync(device: Any) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def reset_cuda_peak(device: str) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.reset_peak_memory_stats()


def cuda_peak(device: str) -> float | None:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if torch.device(device).type == "cuda" else None


def with_peak_rss(run: EngineRun) -> EngineRun:
    """This process's RSS peak (the engine's own, since each engine has a process of its own)."""
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
    run.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
    return run


def descendants_peak_mib() -> float | None:
    """Summed peak RSS (VmHWM) of this process's live descendants: vLLM's engine core and workers,
    which getrusage misses (this process never reaps them). None without /proc or descendants."""
    proc = Path("/proc")
    parents: dict[int, int] = {}
    for entry in proc.glob("[0-9]*"):
        try:
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tree: set[int] = set()
    frontier = {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - tree
        tree |= frontier
    kib = 0
    for pid in tree:
        try:
            status = (proc / str(pid) / "status").read_text()
        except OSError:
            continue
        kib += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return kib / 1024 or None
