"""Reliability (issue 13): the run directory contract, the shard lock, transient vs final engine
errors, safe output directories, validation at --dry-run, SLURM values, secrets, no tracebacks.

Every test drives the real CLI or library on real files, real subprocesses and a real HTTP server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from gapbench import rundir
from gapbench.cli import main
from gapbench.registry import DEFAULT_MODEL
from gapbench.results import RECORD_FORMAT, iter_records, read_results, shard_files, shard_name
from gapbench.runner import run_experiment
from gapbench.study import load_config, load_mazes, plan

GAPBENCH = [sys.executable, "-m", "gapbench.cli"]


def write_config(
    tmp_path: Path, filename: str = "config.yaml", text: str | None = None, **overrides: Any
) -> Path:
    config: dict[str, Any] = {
        "name": "t",
        "output_dir": str(tmp_path / "run"),
        "models": {"oracle": "scripted:oracle", "degraded": "scripted:degraded:0.2"},
        "mazes": [{"size": 6, "count": 6, "seed": 3}],
        "conditions": ["collab"],
        "pairs": "all_ordered",
        "max_turns": 30,
    }
    config.update(overrides)
    path = tmp_path / filename
    path.write_text(text if text is not None else yaml.safe_dump(config))
    return path


def planned(path: Path) -> list[str]:
    config, _ = load_config(path)
    return [s.id for s in plan(config, [m.id for m in load_mazes(config, path.parent)])]


def one_line_error(capsys: pytest.CaptureFixture, code: int) -> str:
    """The command failed with ``code`` and said so in one line, without a traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# ------------------------------------------------------------------------ 1. run-directory contract
def test_run_json_is_written_with_the_first_record_not_before(tmp_path, capsys):
    """Finding 5c: a run that fails before any record leaves no run.json to refuse the fixed config."""
    bad = write_config(
        tmp_path,
        models={"m": {"model": DEFAULT_MODEL, "engine": "openai", "options": {"base_url": "ftp://nowhere"}}},
    )
    assert main(["run", str(bad), "--no-progress"]) == 2
    assert "base_url" in one_line_error(capsys, 2)
    assert not (tmp_path / "run" / "run.json").exists()
    fixed = write_config(tmp_path)
    assert main(["run", str(fixed), "--no-progress"]) == 0
    info = rundir.read_info(tmp_path / "run")
    assert info is not None and info.format_version == rundir.RUN_FORMAT
    assert len(read_results(tmp_path / "run")) == len(planned(fixed)) == 24


def test_records_without_run_json_are_refused_for_any_config(tmp_path, capsys):
    """Finding 5a/5b: without run.json nothing is appended or redone; the message says what to do."""
    path = write_config(tmp_path)
    run_experiment(path, progress=False, echo=lambda _: None)
    shard = shard_files(tmp_path / "run")[0]
    before = shard.read_bytes()
    (tmp_path / "run" / "run.json").unlink()
    for config in (path, write_config(tmp_path, "other.yaml", max_turns=20)):
        assert main(["run", str(config), "--no-progress"]) == 2
        assert "has records but no run.json" in one_line_error(capsys, 2)
    assert shard.read_bytes() == before


def test_the_hash_covers_maze_contents_not_the_maze_set_path(tmp_path, capsys):
    """Finding 5d: a maze set regenerated in place is another study."""
    sets = tmp_path / "mazes"
    assert main(["mazes", "generate", "--count", "3", "--seed", "1", "--out", str(sets)]) == 0
    path = write_config(tmp_path, mazes=[{"path": str(sets)}])
    assert main(["run", str(path), "--no-progress"]) == 0
    assert main(["mazes", "generate", "--count", "3", "--seed", "2", "--out", str(sets)]) == 0
    capsys.readouterr()
    assert main(["run", str(path), "--no-progress"]) == 2
    assert "holds results of another config" in one_line_error(capsys, 2)
    assert {r.run_hash for r in read_results(tmp_path / "run")} == {
        rundir.read_info(tmp_path / "run").results_hash
    }


def test_old_records_and_run_json_without_format_version_read_as_version_1(tmp_path):
    path = write_config(tmp_path)
    run_experiment(path, progress=False, echo=lambda _: None)
    shard = shard_files(tmp_path / "run")[0]
    lines = [json.loads(line) for line in shard.read_text().splitlines()]
    assert {line["format_version"] for line in lines} == {RECORD_FORMAT}
    shard.write_text(
        "".join(json.dumps({k: v for k, v in line.items() if k != "format_version"}) + "\n" for line in lines)
    )
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    del info["format_version"]
    (tmp_path / "run" / "run.json").write_text(json.dumps(info))
    assert {r.format_version for r in read_results(tmp_path / "run")} == {1}
    assert rundir.read_info(tmp_path / "run").format_version == 1
    assert (
        run_experiment(path, progress=False, echo=lambda _: None).skipped == 24
    )  # continued, nothing redone


def test_a_second_config_cannot_claim_a_directory_another_one_started(tmp_path):
    """Finding 4b (two configs started together): the first to write owns the directory."""
    path = write_config(tmp_path)
    config, run_dir = load_config(path)
    first = rundir.new_info(config, "a" * 16, path, {"rule": "g"})
    rundir.claim(run_dir, first, "x: 1\n")
    rundir.claim(run_dir, first, "x: 1\n")  # the same config again: fine
    with pytest.raises(rundir.RunDirError, match="another config started writing here first"):
        rundir.claim(run_dir, rundir.new_info(config, "b" * 16, path, {"rule": "g"}), "x: 2\n")
    assert rundir.read_info(run_dir).results_hash == "a" * 16


# ------------------------------------------------------------------------------------- 2. the lock
def test_two_runs_on_one_directory_the_second_refuses_and_no_duplicates(tmp_path):
    """Finding 4a: two `gapbench run` processes at once."""
    path = write_config(
        tmp_path, mazes=[{"size": 6, "count": 150, "seed": 1}], max_concurrent=16
    )  # long enough to overlap
    first = subprocess.Popen(
        [*GAPBENCH, "run", str(path), "--no-progress"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    shard = tmp_path / "run" / "results" / shard_name(0, 1)
    deadline = time.time() + 60
    while time.time() < deadline and not (shard.exists() and shard.stat().st_size > 0):
        time.sleep(0.01)
    second = subprocess.run(
        [*GAPBENCH, "run", str(path), "--no-progress"], capture_output=True, text=True, timeout=60
    )
    assert first.poll() is None, "the first run should still be writing"
    assert second.returncode == 2, second.stderr
    assert "is being written by host" in second.stderr and f"pid {first.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.wait(timeout=300) == 0, first.stderr.read()
    ids = [r.dialogue_id for r in iter_records(shard_files(tmp_path / "run"))]
    assert len(ids) == len(set(ids)) == len(planned(path)) == 600


def test_two_configs_started_together_on_one_directory_leave_one_config(tmp_path):
    """Finding 4b: two different configs started at once (on different shards, so no shard lock
    meets): one claims the directory, the other stops with one line; no record of it is kept."""
    a = write_config(tmp_path, "a.yaml", mazes=[{"size": 6, "count": 60, "seed": 1}])
    b = write_config(tmp_path, "b.yaml", mazes=[{"size": 6, "count": 60, "seed": 1}], max_turns=20)
    procs = [
        subprocess.Popen(
            [*GAPBENCH, "run", str(p), "--no-progress", "--shard", f"{i}/2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, p in enumerate((a, b))
    ]
    codes = [p.wait(timeout=300) for p in procs]
    errors = [p.stderr.read() for p in procs]
    assert sorted(codes) == [0, 2], errors
    loser = errors[codes.index(2)]
    assert "holds results of another config" in loser and "Traceback" not in loser
    winner = rundir.read_info(tmp_path / "run")
    assert {r.run_hash for r in iter_records(shard_files(tmp_path / "run"))} == {winner.results_hash}


def test_a_stale_lock_of_a_killed_run_is_taken_over(tmp_path):
    path = write_config(tmp_path, mazes=[{"size": 6, "count": 60, "seed": 1}])
    proc = subprocess.Popen(
        [*GAPBENCH, "run", str(path), "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    shard = tmp_path / "run" / "results" / shard_name(0, 1)
    deadline = time.time() + 60
    while time.time() < deadline and not (shard.exists() and shard.stat().st_size > 0):
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lock = shard.with_name(shard.name + ".lock")
    assert f"pid {proc.pid}" in lock.read_text()  # the dead holder's stamp is still there
    result = run_experiment(path, progress=False, echo=lambda _: None)
    assert result.written + result.skipped == 240
    assert f"pid {os.getpid()}" in lock.read_text()


def test_regrade_refuses_a_shard_a_run_is_writing_and_rewrites_it_after(tmp_path, capsys):
    """A regrade rewrites shards whole: while a run holds a shard's lock it must not, or the run's
    new records would vanish with the rename."""
    path = write_config(tmp_path)
    run_experiment(path, progress=False, echo=lambda _: None)
    shard = shard_files(tmp_path / "run")[0]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import time; from pathlib import Path; from gapbench.rundir import shard_lock\n"
            f"with shard_lock(Path({str(shard)!r})):\n    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        before = shard.read_bytes()
        assert main(["regrade", str(tmp_path / "run")]) == 2
        assert f"pid {holder.pid}" in one_line_error(capsys, 2)
        assert shard.read_bytes() == before
    finally:
        holder.kill()
        holder.wait()
    assert main(["regrade", str(tmp_path / "run")]) == 0
    assert len(read_results(tmp_path / "run")) == 24


def test_shards_then_a_plain_run_redo_nothing(tmp_path, capsys):
    """Finding 4c: --shard 0/2, --shard 1/2, then a plain run."""
    path = write_config(tmp_path)
    for i in range(2):
        run_experiment(path, shard=(i, 2), progress=False, echo=lambda _: None)
    assert main(["run", str(path), "--no-progress"]) == 0
    assert "0 of 24 dialogues to go" in capsys.readouterr().out
    assert not (tmp_path / "run" / "results" / shard_name(0, 1)).exists()


# ---------------------------------------------------------------------- 3. transient vs final errors
class ChatServer:
    """An OpenAI-compatible server on a fixed port: ``answer(body)`` -> (status, JSON body)."""

    def __init__(self, port: int, answer: Callable[[dict], tuple[int, Any]]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                status, body = answer(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        ThreadingHTTPServer.allow_reuse_address = True
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def reply(text: str) -> tuple[int, dict]:
    return 200, {
        "choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_config(tmp_path: Path, port: int, userinfo: str = "") -> Path:
    options = {
        "base_url": f"http://{userinfo}127.0.0.1:{port}/v1",
        "max_retries": 1,
        "backoff_s": 0.01,
        "timeout_s": 10.0,
    }
    return write_config(
        tmp_path,
        models={"m": {"model": DEFAULT_MODEL, "engine": "openai", "options": options}},
        pairs="homogeneous",
        mazes=[{"size": 6, "count": 3, "seed": 1}],
        max_turns=4,
        sampling={"max_tokens": 32},
    )


def test_a_server_outage_is_retried_by_the_rerun_and_the_rerun_completes(tmp_path, capsys):
    """Finding 2: with the server down nothing final is written; once it is back, a rerun finishes."""
    port = free_port()
    path = served_config(tmp_path, port)
    assert main(["run", str(path), "--no-progress"]) == 75
    err = capsys.readouterr().err
    assert "3 dialogue(s) met a passing engine failure" in err and "rerun the same command" in err
    assert not rundir.has_records(tmp_path / "run") and not (tmp_path / "run" / "run.json").exists()
    server = ChatServer(port, lambda body: reply("I propose we move right."))
    try:
        assert main(["run", str(path), "--no-progress"]) == 0
    finally:
        server.close()
    assert "3 of 3 dialogues to go" in capsys.readouterr().out
    records = read_results(tmp_path / "run")
    assert len(records) == 3 and all(r.transcript.end == "max_turns" for r in records)


def test_final_errors_are_recorded_and_retried_only_with_retry_errors(tmp_path, capsys):
    """A context overflow (HTTP 400) is the dialogue's own failure: recorded; --retry-errors redoes it."""
    port = free_port()
    path = served_config(tmp_path, port)
    overflow = {"error": {"message": "This model's maximum context length is 2048 tokens"}}
    state = {"fail": True}
    server = ChatServer(
        port, lambda body: (400, overflow) if state["fail"] else reply("I propose we move up.")
    )
    try:
        assert main(["run", str(path), "--no-progress"]) == 0
        assert [r.transcript.end for r in read_results(tmp_path / "run")] == ["error"] * 3
        state["fail"] = False
        assert main(["run", str(path), "--no-progress"]) == 0
        assert "0 of 3 dialogues to go" in capsys.readouterr().out
        assert main(["run", str(path), "--no-progress", "--retry-errors"]) == 0
        assert "3 of 3 dialogues to go" in capsys.readouterr().out
    finally:
        server.close()
    assert [r.transcript.end for r in read_results(tmp_path / "run")] == ["max_turns"] * 3
    assert len(list(iter_records(shard_files(tmp_path / "run")))) == 6  # the error records stay, superseded


def test_a_lone_surrogate_from_a_server_is_replaced_and_the_record_written(tmp_path):
    """Finding 1 (surrogate half): text is sanitised on intake, so every record can be written."""
    port = free_port()
    path = served_config(tmp_path, port)
    raw = '{"choices": [{"message": {"role": "assistant", "content": "left \\ud800 right"}, "finish_reason": "stop"}]}'
    server = ChatServer(port, lambda body: (200, raw))
    try:
        run_experiment(path, progress=False, echo=lambda _: None)
    finally:
        server.close()
    records = read_results(tmp_path / "run")
    assert len(records) == 3
    assert all(m.text == "left \ufffd right" for r in records for m in r.transcript.agent_messages)


# ------------------------------------------------------------------------------ 4. safe output dirs
@pytest.mark.parametrize("where", [".", "..", "HOME", "/"])
def test_output_dirs_that_would_destroy_a_project_are_refused(tmp_path, monkeypatch, capsys, where):
    """Finding 6: the config's own directory (and above), home, root."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    project = home / "project"
    project.mkdir()
    (project / "notes.txt").write_text("mine")
    path = write_config(project, output_dir=str(home) if where == "HOME" else where)
    user_config = path.read_text()
    assert main(["run", str(path), "--no-progress"]) == 2
    assert "output_dir" in one_line_error(capsys, 2)
    assert main(["run", str(path), "--no-progress", "--new-run"]) == 2
    assert path.read_text() == user_config and sorted(p.name for p in project.iterdir()) == [
        "config.yaml",
        "notes.txt",
    ]
    assert not (project / "results").exists() and not (home / "results").exists()


@pytest.mark.parametrize("entry", [".git", "config.yaml"])
def test_a_non_empty_directory_gapbench_did_not_make_is_refused_even_with_new_run(tmp_path, capsys, entry):
    """Finding 6: another project's files (its .git, its own config.yaml) are never moved or overwritten."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / entry).write_text("theirs")
    path = write_config(tmp_path)
    for extra in ([], ["--new-run"]):
        assert main(["run", str(path), "--no-progress", *extra]) == 2
        assert "not made by gapbench" in one_line_error(capsys, 2)
    assert [(p.name, p.read_text()) for p in (tmp_path / "run").iterdir()] == [(entry, "theirs")]
    assert not list(tmp_path.glob("run.old-*"))


def test_empty_out_is_refused(tmp_path, capsys):
    path = write_config(tmp_path)
    run_experiment(path, progress=False, echo=lambda _: None)
    for command in (
        ["report", str(tmp_path / "run"), "--out", ""],
        ["export", str(tmp_path / "run"), "--out", " "],
    ):
        with pytest.raises(SystemExit) as exc:
            main(command)
        assert exc.value.code == 2 and "--out needs a directory" in capsys.readouterr().err


# ----------------------------------------------------------------------------- 5. --dry-run checks
@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"models": {"x": "no-such-model"}}, "models.x: unknown model 'no-such-model'"),
        ({"models": {"x": "scripted:degraded:2.0"}}, "models.x: unknown scripted agent"),
        (
            {"models": {"x": {"model": "scripted:oracle", "engine": "vllm"}}},
            "models.x: a scripted agent takes no engine or options",
        ),
        (
            {"models": {"x": {"model": "scripted:oracle", "options": {"dtype": "float32"}}}},
            "models.x: a scripted agent takes no engine",
        ),
        (
            {"models": {"x": {"model": DEFAULT_MODEL, "options": {"batchsize": 4}}}},
            "models.x.options: unknown transformers engine option 'batchsize'; allowed: device, dtype, batch_size",
        ),
        (
            {
                "models": {
                    "x": {
                        "model": DEFAULT_MODEL,
                        "engine": "vllm",
                        "options": {"tensor_parallel_size": "two"},
                    }
                }
            },
            "vllm engine option 'tensor_parallel_size'",
        ),
        (
            {"models": {"x": DEFAULT_MODEL}, "sampling": {"max_tokens": 100000}},
            "sampling.max_tokens: 100000 is not below the context",
        ),
        ({"grader": {"model": "no-such-grader"}}, "grader.model: unknown model 'no-such-grader'"),
        ({"rollouts": 1000000000}, "above the cap of 1,000,000"),
        ({"mazes": [{"count": 10**12}]}, "above the cap of 1,000,000"),
        ({"rollouts": True}, "rollouts"),
        ({"mazes": [{"count": True}]}, "mazes.0.count"),
        (
            {"relay": {"strong": "oracle", "weak": "degraded", "k": []}, "conditions": ["collab", "relay"]},
            "relay.k",
        ),
        (
            {
                "relay": {"strong": "oracle", "weak": "degraded", "modes": []},
                "conditions": ["collab", "relay"],
            },
            "relay.modes",
        ),
        ({"relay": {"strong": "oracle", "weak": "degraded"}}, "conditions do not include relay"),
        ({"pairs": []}, "pairs"),
        ({"conditions": []}, "conditions"),
        ({"mazes": []}, "mazes"),
        ({"output_dir": ""}, "output_dir"),
    ],
)
def test_dry_run_finds_what_the_run_would_find(tmp_path, capsys, overrides, message):
    """Finding 9 and 8 (MemoryError, hang): each problem is reported at --dry-run, naming the field."""
    started = time.time()
    assert main(["run", str(write_config(tmp_path, **overrides)), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert time.time() - started < 30
    assert not (tmp_path / "run").exists()


def test_dry_run_refuses_duplicate_keys_and_an_unwritable_output_dir(tmp_path, capsys):
    dup = write_config(tmp_path, text="models: {a: scripted:oracle}\nrollouts: 1\nrollouts: 2\n")
    assert main(["run", str(dup), "--dry-run"]) == 2
    assert "key 'rollouts' is given twice" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    blocked = write_config(tmp_path, output_dir=str(tmp_path / "file" / "run"))
    assert main(["run", str(blocked), "--dry-run"]) == 2
    assert "is a file, not a directory" in one_line_error(capsys, 2)


# ----------------------------------------------------------------------------------------- 6. SLURM
@pytest.mark.parametrize(
    "field", ["name", "output_dir", "--partition", "--account", "--time", "--extra-sbatch", "--setup"]
)
def test_slurm_values_with_a_newline_are_refused_before_any_script(tmp_path, monkeypatch, capsys, field):
    """Finding 7: a stub sbatch on PATH would run the script; it is never called."""
    calls = tmp_path / "sbatch-calls"
    stub = tmp_path / "bin" / "sbatch"
    stub.parent.mkdir()
    stub.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nbash "$(eval echo \\${{$#}})"\necho 1\n')
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{stub.parent}:{os.environ['PATH']}")
    evil = f"x\ntouch {tmp_path / 'PWNED'}"
    overrides = (
        {"name": evil}
        if field == "name"
        else {"output_dir": str(tmp_path / evil)}
        if field == "output_dir"
        else {}
    )
    path = write_config(tmp_path, **overrides)
    args = ["slurm", "submit", str(path), "--shards", "2", "--gapbench", "/bin/true"]
    if field.startswith("--"):
        args += [f"{field}={'--x=' if field == '--extra-sbatch' else ''}{evil}"]
    assert main(args) == 2
    line = one_line_error(capsys, 2)
    assert f"{field}:" in line and "holds a control character" in line
    assert not calls.exists() and not (tmp_path / "PWNED").exists()


# --------------------------------------------------------------------------------------- 7. secrets
def test_credentials_in_a_url_are_never_written_or_printed(tmp_path, capsys):
    port = free_port()
    path = served_config(tmp_path, port, userinfo="alice:hunter2secret@")
    assert main(["run", str(path), "--no-progress"]) == 75  # server down: the message names the URL
    server = ChatServer(port, lambda body: (400, {"error": {"message": "context length exceeded"}}))
    try:
        assert main(["run", str(path), "--no-progress"]) == 0
    finally:
        server.close()
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "report")]) == 0
    out, err = capsys.readouterr()
    assert "127.0.0.1" in err and "hunter2secret" not in out + err
    written = [p for p in (tmp_path / "run").rglob("*") if p.is_file()] + list(
        (tmp_path / "report").glob("report.*")
    )
    assert any(p.name == "report.html" for p in written) and any(p.name == "config.yaml" for p in written)
    assert [p for p in written if "hunter2secret" in p.read_text(errors="replace")] == []
    assert "***@127.0.0.1" in (tmp_path / "run" / "run.json").read_text()


# ------------------------------------------------------------------------------ 8. no tracebacks
def _one_record(tmp_path: Path) -> tuple[Path, dict]:
    path = write_config(
        tmp_path,
        models={"o": "scripted:oracle"},
        pairs="homogeneous",
        mazes=[{"size": 6, "count": 1, "seed": 1}],
    )
    run_experiment(path, progress=False, echo=lambda _: None)
    shard = shard_files(tmp_path / "run")[0]
    return shard, json.loads(shard.read_text())


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: [1, 2, 3], "(the line): input should be"),
        (lambda r: None, "(the line): input should be"),
        (lambda r: {**r, "grades": []}, "grades: input should be a valid dictionary"),
        (lambda r: {**r, "primary": "llm"}, "primary: 'llm' is not one of its grades"),
        (lambda r: {**r, "models": "oracle"}, "models: input should be a valid list"),
        (
            lambda r: {**r, "grades": {"rule": {**r["grades"]["rule"], "weighted": float("nan")}}},
            "grades.rule.weighted: nan is not a finite number",
        ),
        (
            lambda r: {
                **r,
                "transcript": {
                    **r["transcript"],
                    "messages": [{**r["transcript"]["messages"][-1], "completion_tokens": "many"}],
                },
            },
            "transcript.messages.0.completion_tokens",
        ),
        (lambda r: {**r, "format_version": 99}, "newer than this gapbench reads"),
        (lambda r: {**r, "colour": "red"}, "colour: unknown field, perhaps written by a newer gapbench"),
        (
            lambda r: {**r, "grades": {"rule": {**r["grades"]["rule"], "mood": 1}}},
            "grades.rule.mood: unknown field",
        ),
    ],
)
def test_bad_records_give_one_line_naming_file_line_and_field(tmp_path, capsys, change, message):
    """Finding 8: every command that reads the shard says which line is wrong and how to go on."""
    shard, record = _one_record(tmp_path)
    shard.write_text(shard.read_text() + json.dumps(change(record)) + "\n")
    for command in (
        ["report", str(tmp_path / "run"), "--out", str(tmp_path / "rep")],
        ["merge", str(tmp_path / "run")],
        ["export", str(tmp_path / "run")],
        ["run", str(tmp_path / "config.yaml"), "--no-progress"],
    ):
        assert main(command) == 2, command
        line = one_line_error(capsys, 2)
        assert (
            f"{shard}:2: not a gapbench record" in line
            and message in line
            and "fix or remove that line" in line
        )


def test_bad_run_json_and_mazeset_give_one_line(tmp_path, capsys):
    _shard, _ = _one_record(tmp_path)
    info = tmp_path / "run" / "run.json"
    good = info.read_text()
    for bad in ("[1, 2]", json.dumps({k: v for k, v in json.loads(good).items() if k != "config"})):
        info.write_text(bad)
        for command in (
            ["merge", str(tmp_path / "run")],
            ["report", str(tmp_path / "run"), "--out", str(tmp_path / "rep")],
        ):
            assert main(command) == 2
            assert f"{info} is not a gapbench run.json" in one_line_error(capsys, 2)
    info.write_text(json.dumps({**json.loads(good), "format_version": 99}))
    assert main(["merge", str(tmp_path / "run")]) == 2
    assert "newer than this gapbench reads" in one_line_error(capsys, 2)
    sets = tmp_path / "mazes"
    assert main(["mazes", "generate", "--count", "1", "--out", str(sets)]) == 0
    (sets / "mazeset.json").write_text("[]")
    capsys.readouterr()
    assert main(["run", str(write_config(tmp_path, "m.yaml", mazes=[{"path": str(sets)}])), "--dry-run"]) == 2
    assert "mazeset.json is not a maze set description" in one_line_error(capsys, 2)


def test_engine_errors_are_one_line_and_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    path = write_config(
        tmp_path,
        models={
            "m": {"model": DEFAULT_MODEL, "engine": "openai", "options": {"api_key_env": "NO_SUCH_KEY_VAR"}}
        },
        pairs="homogeneous",
    )
    assert main(["run", str(path), "--no-progress"]) == 2
    assert "NO_SUCH_KEY_VAR" in one_line_error(capsys, 2)
    assert main(["run", str(path), "--no-progress", "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_conflicting_duplicates_warn_and_merge_reports_unplanned_records(tmp_path, capsys, caplog):
    shard, record = _one_record(tmp_path)
    flipped = {**record, "grades": {"rule": {**record["grades"]["rule"], "success": False, "weighted": 0.0}}}
    stranger = {**record, "dialogue_id": "not-in-the-plan"}
    shard.write_text(shard.read_text() + json.dumps(flipped) + "\n" + json.dumps(stranger) + "\n")
    with caplog.at_level("WARNING"):
        records = read_results(tmp_path / "run")
    assert {r.grade.success for r in records if r.dialogue_id == record["dialogue_id"]} == {
        True
    }  # the first is kept
    assert "has two records that disagree" in caplog.text
    assert main(["merge", str(tmp_path / "run")]) == 0
    assert "1 records are of dialogues the plan does not hold" in capsys.readouterr().err


# ------------------------------------------------------------------------------ 9. partial runs
def test_a_run_stopped_part_way_reports_a_warning_and_balanced_cells(tmp_path):
    """Finding 3: early finishers (mostly successes) must not bias a partial run's comparisons."""
    path = write_config(tmp_path, mazes=[{"size": 6, "count": 60, "seed": 1}], max_concurrent=24)
    proc = subprocess.Popen(
        [*GAPBENCH, "run", str(path), "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    shard = tmp_path / "run" / "results" / shard_name(0, 1)
    deadline = time.time() + 60
    while time.time() < deadline and (not shard.exists() or shard.read_bytes().count(b"\n") < 100):
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    records = read_results(tmp_path / "run")
    assert 0 < len(records) < 240
    by_maze: dict[str, set[str]] = {}
    for r in records:
        by_maze.setdefault(r.maze_id, set()).add(r.pair)
    complete = {m for m, pairs in by_maze.items() if len(pairs) == 4}
    assert complete and len(complete) < 60

    def matrix_n(out: Path) -> dict[str, int]:
        report = json.loads((out / "report.json").read_text())
        return {
            f"{c['first']}+{c['second']}": c["metrics"]["weighted"]["n"] for c in report["matrix"]["cells"]
        }

    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "balanced")]) == 0
    assert set(matrix_n(tmp_path / "balanced").values()) == {len(complete)}  # every cell on the same mazes
    md = (tmp_path / "balanced" / "report.md").read_text()
    assert "WARNING: partial run(s)" in md.split("## Runs")[0]  # above every table of results
    assert f"{len(records)} of 240 planned dialogues are done" in md
    assert "/60 |" in md  # done/planned per cell
    html = (tmp_path / "balanced" / "report.html").read_text()
    assert html.index("WARNING: partial run(s)") < html.index('id="runs"')
    assert main(["report", str(tmp_path / "run"), "--out", str(tmp_path / "all"), "--no-complete-only"]) == 0
    assert sum(matrix_n(tmp_path / "all").values()) == len(records)


# ------------------------------------------------------------------ 8. arbitrary lines, clear errors
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every location in a JSON value (dict keys and list indices)."""
    out = [prefix]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for k, v in items:
        out += _paths(v, (*prefix, k))
    return out


def _at(value: Any, path: tuple) -> Any:
    for k in path:
        value = value[k]
    return value


def _replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(value[path[0]], path[1:], new)
    return copy


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> tuple[Path, bytes, dict]:
    root = tmp_path_factory.mktemp("fuzz")
    path = write_config(
        root,
        models={"o": "scripted:oracle", "d": "scripted:degraded:0.3"},
        mazes=[{"size": 4, "count": 2, "seed": 1}],
        conditions=["solo_full", "collab"],
    )
    run_experiment(path, progress=False, echo=lambda _: None)
    shard = shard_files(root / "run")[0]
    return root, shard.read_bytes(), json.loads(shard.read_text().splitlines()[0])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_arbitrary_json_lines_in_a_shard_work_or_give_one_clear_line(small_run, capsys, data):
    root, original, record = small_run
    if data.draw(st.booleans(), label="whole line"):
        line = data.draw(JSON, label="line")
    else:
        where = data.draw(st.sampled_from(_paths(record)), label="where")
        old = _at(record, where)
        same_type = {
            bool: st.booleans(),
            int: st.integers(),
            float: st.floats(),
            str: st.text(max_size=8),
        }.get(type(old), JSON)
        line = _replaced(record, where, data.draw(st.one_of(JSON, same_type), label="value"))
        if data.draw(st.booleans(), label="as a new dialogue") and isinstance(line, dict):
            line["dialogue_id"] = "fuzzed"  # not deduplicated away: the commands use it
    shard = shard_files(root / "run")[0]
    shard.write_bytes(original + (json.dumps(line) + "\n").encode())
    command = data.draw(
        st.sampled_from(
            [
                ["report", str(root / "run"), "--out", str(root / "report"), "--per-group", "2"],
                ["merge", str(root / "run")],
                ["export", str(root / "run"), "--out", str(root / "export")],
                ["run", str(root / "config.yaml"), "--no-progress"],
            ]
        ),
        label="command",
    )
    code = main(command)
    event(f"{command[0]} exit {code}")
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code in (0, 1, 2), err
    if code == 2:
        assert len([x for x in err.splitlines() if "error:" in x]) == 1, err
