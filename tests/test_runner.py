"""gapbench run end to end with scripted agents (real scheduler, results, resume; no model)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from gapbench.cli import main
from gapbench.engines.base import Completion
from gapbench.results import iter_records, read_results, shard_files
from gapbench.rundir import run_hash
from gapbench.runner import run_experiment
from gapbench.study import load_config, load_mazes, plan, select_shard

GAPBENCH = [sys.executable, "-m", "gapbench.cli"]


def write_config(tmp_path: Path, **overrides) -> Path:
    config = {
        "name": "t",
        "output_dir": str(tmp_path / "run"),
        "models": {"oracle": "scripted:oracle", "degraded": "scripted:degraded:0.2"},
        "mazes": [{"size": 6, "count": 12, "seed": 3}],
        "conditions": ["collab", "relay"],
        "pairs": "all_ordered",
        "relay": {"strong": "oracle", "weak": "degraded", "k": [2, 4]},
        "max_turns": 30,
    }
    config.update(overrides)
    if "relay" not in config["conditions"] and "relay" not in overrides:
        del config["relay"]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def outcomes(run_dir):
    return {r.dialogue_id: (r.transcript.to_json(), r.grade.weighted) for r in read_results(run_dir)}


def test_run_writes_one_complete_record_per_dialogue_and_a_summary(tmp_path, capsys):
    path = write_config(tmp_path)
    assert main(["run", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    records = read_results(tmp_path / "run")
    config, _ = load_config(path)
    assert len(records) == len(plan(config, [m.id for m in load_mazes(config, tmp_path)])) == 12 * (4 + 4)
    assert "oracle+oracle" in out and "1.00 [1.00, 1.00]" in out
    for r in records:
        assert (
            r.run_hash == run_hash(config, [m.id for m in load_mazes(config, tmp_path)])
            and r.prompt_version == "v2"
        )
        assert r.grades["rule"].method == "rule"
    hetero = {r.pair for r in records if r.condition == "collab"}
    assert hetero == {"oracle+oracle", "oracle+degraded", "degraded+oracle", "degraded+degraded"}
    # Rerunning does nothing: everything is done.
    assert main(["run", str(path), "--no-progress"]) == 0
    assert "0 of 96 dialogues to go" in capsys.readouterr().out
    assert len(read_results(tmp_path / "run")) == 96


def test_relay_branches_continue_the_stored_base_prefix_verbatim(tmp_path):
    run_experiment(write_config(tmp_path), progress=False)
    records = read_results(tmp_path / "run")
    by_id = {r.dialogue_id: r for r in records}
    relays = [r for r in records if r.condition.startswith("relay")]
    assert relays
    for r in relays:
        base = by_id[r.base_id].transcript
        k = r.relay_k
        agent_idx = [i for i, m in enumerate(base.messages) if m.speaker != "user"]
        cut = agent_idx[k - 1] + 1 if len(agent_idx) >= k else len(base.messages)
        assert r.transcript.messages[:cut] == base.messages[:cut]
        after = [m.model for m in r.transcript.messages[cut:] if m.speaker != "user"]
        expected = r.relay_after
        assert all(m == expected[i % 2] for i, m in enumerate(after, start=k))
    primer = [r for r in relays if r.condition == "relay_primer"]
    assert all(
        r.models == ["oracle", "degraded"] and r.relay_after == ["degraded", "degraded"] for r in primer
    )


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    path = write_config(tmp_path)
    assert main(["run", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "plan: 96 dialogues" in out and "relay_recovery" in out and "tokens: at most" in out
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"conditions": ["collab", "telepathy"]}, "conditions.1"),
        (
            {"relay": {"strong": "oracle", "weak": "degraded", "k": [2, 40]}},
            "relay.k: [40] must be below max_turns=30",
        ),
        ({"pairs": [["oracle", "nobody"]]}, "pairs: 'nobody' is not a key of `models`"),
        ({"max_turns": 0}, "max_turns"),
        ({"sampling": {"temperature": -1}}, "sampling.temperature"),
        ({"models": {}}, "list at least one model"),
        ({"mystery": 1}, "mystery"),
    ],
)
def test_bad_configs_name_the_field(tmp_path, capsys, overrides, message):
    assert main(["run", str(write_config(tmp_path, **overrides)), "--dry-run"]) == 2
    assert message in capsys.readouterr().err


def test_changed_config_refuses_to_mix_unless_new_run(tmp_path, capsys):
    run_experiment(write_config(tmp_path, conditions=["collab"]), progress=False)
    changed = write_config(tmp_path, conditions=["collab"], max_turns=20)
    assert main(["run", str(changed), "--no-progress"]) == 2
    assert "--new-run" in capsys.readouterr().err
    assert main(["run", str(changed), "--no-progress", "--new-run"]) == 0
    assert len({r.run_hash for r in read_results(tmp_path / "run")}) == 1
    assert list(tmp_path.glob("run.old-*"))


def test_shards_partition_the_plan_by_stable_id(tmp_path):
    config, _ = load_config(write_config(tmp_path))
    specs = plan(config, [m.id for m in load_mazes(config, tmp_path)])
    parts = [select_shard(specs, (i, 3)) for i in range(3)]
    assert sorted(s.id for p in parts for s in p) == sorted(s.id for s in specs)
    for p in parts:  # relay branches live with their base rollout
        ids = {s.id for s in p}
        assert all(s.base_id in ids for s in p if s.base_id)
    with pytest.raises(ValueError, match="out of range"):
        select_shard(specs, (3, 3))


def test_kill_9_mid_run_then_resume_equals_an_uninterrupted_run(tmp_path):
    reference = tmp_path / "ref"
    reference.mkdir()
    run_experiment(write_config(reference, mazes=[{"size": 6, "count": 60, "seed": 1}]), progress=False)
    victim = tmp_path / "victim"
    victim.mkdir()
    path = write_config(victim, mazes=[{"size": 6, "count": 60, "seed": 1}])
    proc = subprocess.Popen(
        [*GAPBENCH, "run", str(path), "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    shard = victim / "run" / "results" / "shard-0000-of-0001.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and (not shard.exists() or shard.stat().st_size < 200_000):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = list(iter_records([shard]))
    assert 0 < len(partial) < 480, "the kill should land mid-run"
    run_experiment(path, progress=False)
    ids = [r.dialogue_id for r in iter_records(shard_files(victim / "run"))]
    assert len(ids) == len(set(ids)) == 480  # nothing lost, nothing duplicated
    assert outcomes(victim / "run") == outcomes(reference / "run")


def test_torn_last_line_is_ignored_and_cut_before_appending(tmp_path):
    path = write_config(tmp_path, conditions=["collab"])
    run_experiment(path, progress=False)
    shard = shard_files(tmp_path / "run")[0]
    lines = shard.read_bytes().splitlines(keepends=True)
    shard.write_bytes(b"".join(lines[:5]) + lines[5][:100])  # crash mid-write of record 6
    assert len(read_results(tmp_path / "run")) == 5
    run_experiment(path, progress=False)
    assert len(read_results(tmp_path / "run")) == 48
    assert all(json.loads(line) for line in shard.read_bytes().splitlines())


class FlakyEngine:
    """Fails one conversation; the rest of the batch must go on."""

    name = "flaky"

    def __init__(self, inner, bad_prefix):
        self.inner, self.bad_prefix = inner, bad_prefix

    def generate(self, requests):
        out = self.inner.generate(requests)
        return [
            Completion(c.conversation_id, "", finish_reason="error", error="boom")
            if c.conversation_id.startswith(self.bad_prefix)
            else c
            for c in out
        ]

    def end(self, conversation_id):
        pass

    def close(self):
        pass


def test_an_engine_error_on_one_dialogue_becomes_an_error_record(tmp_path):
    from gapbench.agents import ScriptedEngine

    path = write_config(tmp_path, conditions=["collab"], pairs="homogeneous")
    config, _ = load_config(path)
    victim = plan(config, [m.id for m in load_mazes(config, tmp_path)])[0].id
    engines = {k: FlakyEngine(ScriptedEngine(config.entry(k).model), victim) for k in config.models}
    run_experiment(path, engines=engines, progress=False)
    records = {r.dialogue_id: r for r in read_results(tmp_path / "run")}
    assert records[victim].transcript.end == "error" and "boom" in records[victim].transcript.error
    assert sum(r.transcript.end == "error" for r in records.values()) == 1 and len(records) == 24


def test_full_disk_stops_cleanly_without_a_torn_record(tmp_path):
    path = write_config(tmp_path, conditions=["collab"])
    code = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN);"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000));"
        f"from gapbench.cli import main; sys.exit(main(['run', {str(path)!r}, '--no-progress']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "cannot write results" in proc.stderr and "rerun to resume" in proc.stderr
    shard = shard_files(tmp_path / "run")[0]
    assert shard.read_bytes().endswith(b"\n")
    done = len(read_results(tmp_path / "run"))
    assert 0 < done < 48
    run_experiment(path, progress=False)
    assert len(read_results(tmp_path / "run")) == 48


def test_export_writes_a_parquet_dataset(tmp_path):
    run_experiment(write_config(tmp_path, conditions=["collab"]), progress=False)
    assert main(["export", str(tmp_path / "run")]) == 0
    import datasets

    ds = datasets.load_dataset(
        "parquet", data_files=str(tmp_path / "run" / "export" / "dialogues.parquet"), split="train"
    )
    assert ds.num_rows == 48 and {"dialogue_id", "weighted", "transcript", "pair"} <= set(ds.column_names)


def test_sigterm_saves_and_exits_with_143(tmp_path):
    path = write_config(tmp_path, mazes=[{"size": 6, "count": 60, "seed": 1}])
    proc = subprocess.Popen(
        [*GAPBENCH, "run", str(path), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    shard = tmp_path / "run" / "results" / "shard-0000-of-0001.jsonl"
    deadline = time.time() + 60
    while time.time() < deadline and (not shard.exists() or shard.stat().st_size < 100_000):
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "rerun to resume" in err
    assert shard.read_bytes().endswith(b"\n")


class SteppedEngine:
    """A continuous engine over scripted agents: each request finishes after 1-3 steps, so
    dialogues fall out of step with each other, as in vLLM."""

    def __init__(self, inner):
        self.inner, self.name, self.queue, self.steps, self.max_seen = inner, inner.name, [], 0, 0

    def submit(self, requests):
        self.queue += [[1 + int(r.conversation_id[:2], 16) % 3, r] for r in requests]
        self.max_seen = max(self.max_seen, len(self.queue))
        return []

    def poll(self):
        self.steps += 1
        for item in self.queue:
            item[0] -= 1
        done = [r for n, r in self.queue if n <= 0]
        self.queue = [item for item in self.queue if item[0] > 0]
        return self.inner.generate(done)

    @property
    def in_flight(self):
        return len(self.queue)

    def generate(self, requests):
        raise AssertionError("a continuous engine is driven through submit/poll")

    def end(self, conversation_id):
        pass

    def close(self):
        pass


def test_continuous_engines_give_the_same_results_as_round_batching(tmp_path):
    from gapbench.agents import ScriptedEngine
    from gapbench.engines.base import ContinuousEngine

    reference = tmp_path / "ref"
    reference.mkdir()
    run_experiment(write_config(reference), progress=False)
    path = write_config(tmp_path)
    config, _ = load_config(path)
    stepped = {k: SteppedEngine(ScriptedEngine(config.entry(k).model)) for k in config.models}
    run_experiment(path, engines=stepped, progress=False)
    assert all(isinstance(e, ContinuousEngine) for e in stepped.values())
    assert outcomes(tmp_path / "run") == outcomes(reference / "run")
    assert all(e.steps > 0 and e.max_seen > 1 for e in stepped.values())
