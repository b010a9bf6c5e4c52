"""SLURM job arrays: script rendering and quoting, merge, bad input; end to end on a real one-node SLURM."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
from pathlib import Path

import pytest

from gapbench import slurm
from gapbench.cli import main
from gapbench.results import MERGED_FILE, read_results, shard_name
from gapbench.runner import run_experiment

ROOT = Path(__file__).resolve().parent.parent
# Spaces, a quote and shell syntax: must reach gapbench and sbatch as one literal path, run nothing.
NASTY = 'my study\'s $(touch PWNED); `x` & "y"'


def make_config(tmp: Path, name: str, *, output: Path, count: int = 4, max_concurrent: int = 256) -> Path:
    """A small copy of examples/scripted.yaml (12 dialogues per maze) writing to ``output``."""
    text = (ROOT / "examples" / "scripted.yaml").read_text().replace("count: 50", f"count: {count}")
    text = "\n".join(
        line for line in text.splitlines() if not line.startswith(("output_dir:", "conditions:"))
    )
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        text
        + f"\noutput_dir: {json.dumps(str(output))}\nmax_concurrent: {max_concurrent}\nconditions: [collab, relay]\n"
    )
    return path


def comparable(records: list) -> dict[str, dict]:
    """Records by id without timings (the only field that differs between two runs)."""
    out = {}
    for r in records:
        data = json.loads(r.to_json()) if hasattr(r, "to_json") else dict(r)
        data.pop("timings")
        out[data["dialogue_id"]] = data
    return out


# ------------------------------------------------------------------------------- no SLURM needed
def test_array_spec() -> None:
    assert slurm.array_spec([0, 1, 2, 3]) == "0-3"
    assert slurm.array_spec([9, 1, 3, 4, 5], 2) == "1,3-5,9%2"


def test_scripts_quote_every_value_and_run_the_shard(tmp_path: Path) -> None:
    """The rendered script passes paths with shell syntax through literally, to sbatch and to bash."""
    base = tmp_path / NASTY
    config = make_config(base, "study.yaml", output=base / "run")
    calls = tmp_path / "calls.json"
    fake = tmp_path / "fake gapbench"
    fake.write_text(
        f"#!/usr/bin/env python3\nimport json, sys\njson.dump(sys.argv[1:], open({str(calls)!r}, 'w'))\n"
    )
    fake.chmod(0o755)
    res = slurm.Resources(partition="gpu; rm -rf /", gpus_per_task=1, extra_sbatch=("--comment=a b",))
    array, merge = slurm.scripts(config, base / "run", 4, res, str(fake), "name with 'quotes'")
    for script in (array, merge):
        assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0
        for line in script.splitlines():
            if line.startswith("#SBATCH "):
                assert len(shlex.split(line[len("#SBATCH ") :])) == 1, line  # sbatch splits them like a shell
    assert "#SBATCH '--partition=gpu; rm -rf /'" in array and "#SBATCH '--comment=a b'" in array
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_JOB_ID": "77", "SLURM_JOB_ID": "80"}
    done = subprocess.run(["bash", "-c", array], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(calls.read_text()) == ["run", str(config), "--shard", "3/4", "--no-progress"]
    assert (base / "run" / "slurm" / "shards" / "shard-0003.done").read_text().startswith("job=77_3 exit=0")
    subprocess.run(["bash", "-c", merge], cwd=tmp_path, check=True)
    assert json.loads(calls.read_text()) == ["merge", str(base / "run")]
    assert not list(tmp_path.rglob("PWNED"))


def test_submit_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(tmp_path, "study.yaml", output=tmp_path / "run", count=1)
    with pytest.raises(ValueError, match="--shards 0: use 1 to 12"):
        slurm.submit(config, 0)
    with pytest.raises(ValueError, match="--shards 13: use 1 to 12"):
        slurm.submit(config, 13)
    with pytest.raises(ValueError, match="--extra-sbatch takes sbatch options"):
        slurm.submit(config, 2, slurm.Resources(extra_sbatch=("constraint=a100",)))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(slurm.SlurmError, match=r"sbatch not found on PATH.*`gapbench run CONFIG`"):
        slurm.submit(config, 2)
    run_experiment(config, progress=False, echo=lambda _: None)  # shards of N=1 now exist
    with pytest.raises(ValueError, match="already has shards of N=1: submit with --shards 1"):
        slurm.submit(config, 2)


def test_merge_lists_missing_dialogues_and_refuses_mixed_configs(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    config = make_config(tmp_path, "study.yaml", output=tmp_path / "run")
    reference = make_config(tmp_path, "reference.yaml", output=tmp_path / "reference")
    run_experiment(reference, progress=False, echo=lambda _: None)
    run_experiment(config, shard=(0, 2), progress=False, echo=lambda _: None)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(["merge", str(tmp_path / "run")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "shard 1/2:" in err and "shard 0/2" not in err and not (tmp_path / "run" / MERGED_FILE).exists()
    missing = {r.dialogue_id for r in read_results(tmp_path / "reference")} - {
        r.dialogue_id for r in read_results(tmp_path / "run")
    }
    assert missing and all(i in err for i in missing)

    run_experiment(config, shard=(1, 2), progress=False, echo=lambda _: None)
    run_experiment(
        config, shard=(0, 3), progress=False, echo=lambda _: None
    )  # another N: duplicates, deduped
    assert main(["merge", str(tmp_path / "run")]) == 0
    merged = [json.loads(line) for line in (tmp_path / "run" / MERGED_FILE).read_text().splitlines()]
    assert len(merged) == len({m["dialogue_id"] for m in merged}) == 48
    assert comparable(merged) == comparable(read_results(tmp_path / "reference"))

    shard = tmp_path / "run" / "results" / shard_name(0, 2)
    first = json.loads(shard.read_text().splitlines()[0])
    with open(tmp_path / "run" / "results" / shard_name(0, 5), "w") as f:
        f.write(json.dumps({**first, "dialogue_id": "other", "run_hash": "0000000000000000"}) + "\n")
    assert main(["merge", str(tmp_path / "run")]) == 2
    assert "holds results of another config" in capsys.readouterr().err


# ------------------------------------------------------------------------------- a real SLURM
def _queued(job: str) -> list[str]:
    """States of an array's tasks (or of a plain job) still in the queue."""
    out = subprocess.run(["squeue", "-h", "-r", "-j", job, "-o", "%T"], capture_output=True, text=True)
    return out.stdout.split() if out.returncode == 0 else []  # unknown job id: it left the queue long ago


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while not condition():
        if time.time() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


@pytest.mark.slurm
def test_array_with_a_failed_shard_resumes_and_merges(
    slurm_cluster: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    base = tmp_path / NASTY
    run_dir = base / "run"
    config = make_config(base, "study.yaml", output=run_dir, count=6)
    reference = make_config(tmp_path, "reference.yaml", output=tmp_path / "reference", count=6)
    run_experiment(reference, progress=False, echo=lambda _: None)
    blocker = run_dir / "results" / shard_name(2, 4)
    blocker.parent.mkdir(parents=True)
    blocker.symlink_to(tmp_path / "no such dir" / "shard.jsonl")  # shard 2 cannot write: that task fails

    assert (
        main(["slurm", "submit", str(config), "--shards", "4", "--time", "5", "--array-parallelism", "2"])
        == 0
    )
    state = slurm.SlurmState.load(run_dir)
    first = state.submissions[0]
    subprocess.run(["scancel", f"{first.array_job}_3"], check=True)  # still pending behind 0 and 1: cancelled
    _wait(lambda: not _queued(first.array_job), 60, "the array to finish")
    _, shards, merge_line = slurm.status(run_dir)
    assert [s.state for s in shards] == ["done", "done", "failed", "failed"]
    assert "exit=2" in shards[2].note and "left the queue unfinished" in shards[3].note
    assert merge_line == f"merge job {first.merge_job}: pending"  # afterok can no longer be met
    blocker.unlink()
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["merge", str(run_dir)])
    err = capsys.readouterr().err
    assert "shard 2/4:" in err and "shard 3/4:" in err and "shard 0/4" not in err

    assert main(["slurm", "resume", str(run_dir)]) == 0
    second = slurm.SlurmState.load(run_dir).submissions[-1]
    assert second.indices == [2, 3] and second.array_job != first.array_job
    _wait(lambda: not _queued(first.merge_job), 10, "the old merge job to be cancelled")
    _wait(
        lambda: (run_dir / MERGED_FILE).exists() and not _queued(second.merge_job),
        60,
        "the new array and merge job",
    )
    assert [s.state for s in slurm.status(run_dir)[1]] == ["done"] * 4
    merged = [json.loads(line) for line in (run_dir / MERGED_FILE).read_text().splitlines()]
    assert comparable(merged) == comparable(read_results(tmp_path / "reference"))
    assert [m["dialogue_id"] for m in merged] == [
        spec.id for spec in slurm.run_plan(run_dir)[1]
    ]  # plan order
    assert not list(tmp_path.rglob("PWNED"))
    assert main(["slurm", "resume", str(run_dir)]) == 0
    assert "all 4 shards are done" in capsys.readouterr().out


@pytest.mark.slurm
def test_signalled_task_saves_requeues_and_resumes(slurm_cluster: Path, tmp_path: Path) -> None:
    """USR1 to the batch shell (what --signal=B:USR1@90 sends before the time limit): saved, requeued, resumed."""
    run_dir = tmp_path / "run"
    config = make_config(
        tmp_path, "study.yaml", output=run_dir, count=30, max_concurrent=1
    )  # ~10 s of fsyncs
    slurm.submit(config, 1, slurm.Resources(time="5"), echo=lambda _: None)
    job = slurm.SlurmState.load(run_dir).submissions[0]
    shard = run_dir / "results" / shard_name(0, 1)
    _wait(lambda: shard.exists() and shard.stat().st_size > 0, 60, "the first record")
    subprocess.run(["scancel", "--batch", "--signal=USR1", f"{job.array_job}_0"], check=True)
    _wait(lambda: _queued(job.array_job) == ["PENDING"], 30, "the task to be requeued")
    saved = len(read_results(run_dir))
    assert 0 < saved < 360, "the task finished before the signal came: make the study longer"
    assert slurm.status(run_dir)[1][0].state == "pending"
    # SLURM holds a requeued job back ~2 min; start it now, once the node is idle and a second has
    # passed (slurmd refuses a credential issued in the same second as the old one's revocation).
    _wait(
        lambda: (
            subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.strip()
            == "idle"
        ),
        30,
        "the node",
    )
    time.sleep(2)
    subprocess.run(["scontrol", "update", f"JobId={job.array_job}_0", "StartTime=now"], check=True)
    _wait(lambda: (run_dir / MERGED_FILE).exists(), 90, "the resumed task and the merge job")
    ids = [json.loads(line)["dialogue_id"] for line in shard.read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 360
    log = (run_dir / "slurm" / "logs" / f"{job.array_job}_0.out").read_text()
    assert "saved and requeued (exit 143)" in log and "restart 1" in log
    assert f"{360 - saved} of 360 dialogues to go" in log
    assert [s.state for s in slurm.status(run_dir)[1]] == ["done"]


@pytest.mark.slurm
def test_rejected_option_shows_slurms_message(slurm_cluster: Path, tmp_path: Path) -> None:
    config = make_config(tmp_path, "study.yaml", output=tmp_path / "run", count=1)
    with pytest.raises(
        slurm.SlurmError, match="sbatch failed: sbatch: error: invalid partition specified: nope"
    ):
        slurm.submit(config, 2, slurm.Resources(partition="nope"), echo=lambda _: None)
    assert not (
        tmp_path / "run" / "slurm" / slurm.STATE_FILE
    ).exists()  # nothing recorded: fix and submit again


def test_state_file_reads_old_files_and_refuses_unknown_fields(tmp_path: Path) -> None:
    state_file = tmp_path / slurm.SLURM_DIR / slurm.STATE_FILE
    state_file.parent.mkdir(parents=True)
    old = {  # slurm.json as gapbench wrote it before format_version
        "config": str(tmp_path / "study.yaml"),
        "results_hash": "abc",
        "shards": 2,
        "gapbench": "gapbench",
        "array_parallelism": None,
        "submissions": [{"array_job": "7", "indices": [0, 1], "merge_job": "8", "submitted": "now"}],
    }
    state_file.write_text(json.dumps(old))
    state = slurm.SlurmState.load(tmp_path)
    assert state.format_version == 1 and state.submissions[0].merge_job == "8"
    state.save(tmp_path)
    assert slurm.SlurmState.load(tmp_path) == state
    old["submissions"][0]["node"] = "n1"
    state_file.write_text(json.dumps(old))
    with pytest.raises(ValueError, match=r"submissions\.0\.node: unknown field.*upgrade gapbench"):
        slurm.SlurmState.load(tmp_path)
