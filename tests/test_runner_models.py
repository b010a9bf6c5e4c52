"""gapbench run with a real (tiny, random, fp32) transformers model: heterogeneous pairs in both
orders, relay branches, and kill -9 + resume compared with an uninterrupted run (greedy)."""

import os
import signal
import subprocess
import sys
import time

import yaml

from gapbench.results import iter_records, read_results, shard_files
from gapbench.runner import run_experiment


def _config(dir, tiny_model_dir):
    path = dir / "study.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "output_dir": str(dir / "run"),
                "models": {
                    "oracle": "scripted:oracle",
                    "tiny": {"model": str(tiny_model_dir), "options": {"dtype": "float32", "device": "cpu"}},
                },
                "mazes": [{"size": 4, "count": 4, "seed": 0}],
                "conditions": ["collab", "relay"],
                "pairs": "all_ordered",
                "relay": {"strong": "oracle", "weak": "tiny", "k": [2, 3]},
                "sampling": {"max_tokens": 12},
                "max_turns": 6,
            }
        )
    )
    return path


def _view(run_dir):
    return {
        r.dialogue_id: [(m.speaker, m.model, m.text) for m in r.transcript.messages]
        for r in read_results(run_dir)
    }


def test_kill_9_and_resume_with_a_model_equals_an_uninterrupted_run(tmp_path, tiny_model_dir):
    (tmp_path / "ref").mkdir()
    run_experiment(_config(tmp_path / "ref", tiny_model_dir), progress=False)
    reference = read_results(tmp_path / "ref" / "run")
    assert len(reference) == 4 * (4 + 4)  # 4 ordered pairs + 2 modes x 2 K, on 4 mazes
    pairs = {r.pair for r in reference if r.condition == "collab"}
    assert pairs == {"oracle+oracle", "oracle+tiny", "tiny+oracle", "tiny+tiny"}
    by_id = {r.dialogue_id: r for r in reference}
    for r in reference:
        models = [m.model for m in r.transcript.agent_messages]
        if r.condition == "collab":
            assert models == [r.models[i % 2] for i in range(len(models))]  # first-named speaks first
            assert all(m.prompt_tokens for m in r.transcript.agent_messages if m.model == "tiny")
        if r.condition.startswith("relay"):
            base = by_id[r.base_id].transcript.agent_messages
            assert (
                r.transcript.agent_messages[: r.relay_k] == base[: r.relay_k]
            )  # the stored prefix, verbatim
            assert models[r.relay_k :] == [r.relay_after[i % 2] for i in range(r.relay_k, len(models))]
    (tmp_path / "victim").mkdir()
    path = _config(tmp_path / "victim", tiny_model_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "gapbench.cli", "run", str(path), "--no-progress"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    shard = tmp_path / "victim" / "run" / "results" / "shard-0000-of-0001.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and (not shard.exists() or len(shard.read_bytes().splitlines()) < 6):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 6 <= len(list(iter_records([shard]))) < 32
    run_experiment(path, progress=False)
    ids = [r.dialogue_id for r in iter_records(shard_files(tmp_path / "victim" / "run"))]
    assert len(ids) == len(set(ids)) == 32
    assert _view(tmp_path / "victim" / "run") == _view(tmp_path / "ref" / "run")
