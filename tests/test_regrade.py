"""`gapbench regrade`: stored transcripts graded again, old grades kept, nothing rerun."""

import dataclasses
import subprocess
import sys

import yaml

from gapbench.grading.extract import RULE_GRADER_VERSION
from gapbench.grading.record import GradeRecord
from gapbench.results import read_results, shard_files
from gapbench.runner import run_experiment

GAPBENCH = [sys.executable, "-m", "gapbench.cli"]


def scripted_run(tmp_path, **overrides):
    config = {
        "name": "regrade",
        "output_dir": str(tmp_path / "run"),
        "models": {"oracle": "scripted:oracle", "degraded": "scripted:degraded:0.3"},
        "mazes": [{"size": 5, "count": 6, "seed": 2}],
        "conditions": ["solo_full", "collab"],
        "pairs": "all_ordered",
        "max_turns": 30,
        **overrides,
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    run_experiment(path, progress=False)
    return tmp_path / "run"


def test_an_unchanged_grader_gives_identical_grades(tmp_path):
    run = scripted_run(tmp_path)
    before = {p: p.read_bytes() for p in shard_files(run)}
    proc = subprocess.run([*GAPBENCH, "regrade", str(run)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "regraded 36 records in 1 file(s): 0 changed outcome, 0 earlier grades kept" in proc.stdout
    assert {p: p.read_bytes() for p in shard_files(run)} == before


def test_old_grades_are_kept_beside_the_new_and_reports_read_the_newest(tmp_path):
    run = scripted_run(tmp_path)
    shard = shard_files(run)[0]
    # Make the run look like one graded by an earlier grader that gave wrong credit.
    lines = []
    for line in shard.read_text().splitlines():
        record = yaml.safe_load(line)
        record["grades"]["rule"] = {
            k: v
            for k, v in record["grades"]["rule"].items()
            if k not in ("version", "partial", "consistent", "cells")
        }
        record["grades"]["rule"]["weighted"] = 0.5
        record["grades"]["rule"]["success"] = False
        lines.append(__import__("json").dumps(record))
    shard.write_text("\n".join(lines) + "\n")
    assert all(r.grade.version == "unversioned" for r in read_results(run))

    proc = subprocess.run([*GAPBENCH, "regrade", str(run)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    records = read_results(run)
    assert len(records) == 36
    for r in records:
        assert r.primary == "rule" and r.grade.version == RULE_GRADER_VERSION
        assert r.grades["rule@unversioned"].weighted == 0.5
    assert sum(r.grade.success for r in records) > 0
    oracle = [r for r in records if r.condition == "collab" and r.models == ["oracle", "oracle"]]
    assert oracle and all(r.grade.success for r in oracle)
    # A second regrade changes nothing more.
    before = shard.read_bytes()
    subprocess.run([*GAPBENCH, "regrade", str(run)], check=True, capture_output=True)
    assert shard.read_bytes() == before


def test_regrade_with_a_grader_model_adds_llm_grades(tmp_path, tiny_model_dir):
    run = scripted_run(tmp_path, conditions=["collab"], pairs=[["oracle", "oracle"]])
    proc = subprocess.run(
        [*GAPBENCH, "regrade", str(run), "--grader", str(tiny_model_dir), "--max-tokens", "16"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    for r in read_results(run):
        assert set(r.grades) == {"rule", "llm"}
        # A random tiny model writes no valid grader output: its error is recorded, the rule grade counts.
        assert r.grades["llm"].error and r.grades["llm"].version == "llm-3" and r.primary == "rule"


def test_regrade_without_run_json_says_what_is_missing(tmp_path):
    run = scripted_run(tmp_path)
    (run / "run.json").unlink()
    proc = subprocess.run([*GAPBENCH, "regrade", str(run)], capture_output=True, text=True)
    assert proc.returncode == 2 and "run.json" in proc.stderr and "Traceback" not in proc.stderr


def test_grade_records_from_before_versioning_are_read():
    old = {
        "method": "rule",
        "steps": [["down"]],
        "success": False,
        "weighted": 0.2,
        "final": [1, 0],
        "moves": 1,
        "optimal_moves": 5,
        "optimal": None,
        "end": "route_ended",
        "scheme": None,
        "symbols": "directions",
    }
    g = GradeRecord.from_dict(old)
    assert g.version == "unversioned" and g.partial is None and g.cells is None
    assert dataclasses.asdict(g)["weighted"] == 0.2
