"""The public API (`import gapbench`): run a study from a script, read it as a frame, plug in engines
and agents by name. Real runs with scripted agents and the real scheduler; no model is loaded."""

import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

import gapbench
from gapbench.agents import ScriptedAgent
from gapbench.cli import main
from gapbench.engines.base import ChatMessage
from gapbench.engines.registry import EngineOptions
from gapbench.quickstart import GPU_STUDY, epilogue

SMOL = "smollm2-135m-instruct"


def study_dict(out: Path, **overrides) -> dict:
    return {
        "name": "api",
        "output_dir": str(out),
        "models": {"oracle": "scripted:oracle", "degraded": "scripted:degraded:0.3"},
        "mazes": [{"size": 5, "count": 4, "seed": 1}],
        "conditions": ["solo_full", "collab"],
        "max_turns": 20,
        **overrides,
    }


def write(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def outcomes(run_dir: Path) -> dict[str, tuple[str, float]]:
    return {r.dialogue_id: (r.transcript.to_json(), r.grade.weighted) for r in gapbench.read_results(run_dir)}


class LabOptions(EngineOptions):
    error_rate: float = 0.0


@gapbench.register_engine("lab-oracle", options=LabOptions)
class LabEngine:
    """Serves a registry model's seats with the scripted policy (a stand-in for a lab's own server)."""

    instances: ClassVar[list["LabEngine"]] = []

    def __init__(self, spec, *, error_rate: float) -> None:
        self.name, self.spec, self.agent = spec.name, spec, ScriptedAgent(error_rate)
        self.calls, self.closed = 0, False
        LabEngine.instances.append(self)

    def generate(self, requests: Sequence[gapbench.ChatRequest]) -> list[gapbench.Completion]:
        self.calls += 1
        return [
            gapbench.Completion(r.conversation_id, self.agent.reply(r.messages, r.sampling.seed))
            for r in requests
        ]

    def end(self, conversation_id: str) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@gapbench.register_agent("always")
class Stubborn:
    """Always proposes the same direction, given in the name: scripted:always:left."""

    def __init__(self, direction: str) -> None:
        if direction not in ("up", "down", "left", "right"):
            raise ValueError(f"direction must be up, down, left or right, got {direction!r}")
        self.direction = direction

    def reply(self, chat: Sequence[ChatMessage], seed: int | None) -> str:
        return f"I propose we move {self.direction}."


def test_import_gapbench_is_cheap():
    heavy = ("torch", "transformers", "pandas", "vllm", "datasets", "httpx")
    code = f"import sys, gapbench; print([m for m in {heavy!r} if m in sys.modules])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_the_public_names():
    assert set(gapbench.__all__) == {
        "run",
        "Study",
        "Run",
        "read_results",
        "results_frame",
        "Engine",
        "ChatRequest",
        "Completion",
        "register_engine",
        "register_agent",
        "__version__",
    }
    from gapbench.study import Study, load_study

    assert gapbench.Study is Study and type(load_study(study_dict(Path("runs"))).study) is Study
    assert gapbench.__version__[0].isdigit()


def test_a_study_runs_from_a_path_a_dict_or_a_study_object_with_the_same_results(tmp_path):
    config = study_dict(tmp_path / "unused")
    by_path = gapbench.run(write(tmp_path / "s.yaml", config), output_dir=tmp_path / "a", progress=False)
    by_dict = gapbench.run(config, output_dir=tmp_path / "b", progress=False)
    by_object = gapbench.run(gapbench.Study.model_validate(config), output_dir=tmp_path / "c", progress=False)
    assert by_path.total == by_path.written == 4 * (1 + 3) and by_path.run_dir == (tmp_path / "a").resolve()
    assert outcomes(by_path.run_dir) == outcomes(by_dict.run_dir) == outcomes(by_object.run_dir)
    assert not (tmp_path / "unused").exists()
    again = gapbench.run(config, output_dir=tmp_path / "b", progress=False)
    assert (again.written, again.skipped, again.total, again.throughput) == (0, 16, 16, None)


def test_results_frame_has_one_row_per_dialogue_and_grade(tmp_path):
    run = gapbench.run(study_dict(tmp_path / "run", conditions=["referee"]), progress=False)
    frame = gapbench.results_frame(run.run_dir)
    records = {r.dialogue_id: r for r in run.records()}
    assert len(frame) == sum(len(r.grades) for r in records.values()) == 2 * len(records)
    assert set(frame.grader) == {"rule", "referee"}
    primary = frame[frame.primary].set_index("dialogue_id")
    assert len(primary) == len(records) and set(primary.grader) == {"referee"}
    for dialogue_id, row in primary.iterrows():
        r = records[dialogue_id]
        assert (row.maze_id, row.maze_size, row.condition, row.pair) == (
            r.maze_id,
            r.maze_size,
            "referee",
            r.pair,
        )
        assert (row.success, row.weighted, row.moves, row.grade_end) == (
            r.grade.success,
            r.grade.weighted,
            r.grade.moves,
            r.grade.end,
        )
        assert row.turns == len(r.transcript.agent_messages) and row.grader_version == r.grade.version
    rule = frame[frame.grader == "rule"]
    assert rule.consistent_weighted.notna().all() and rule.scheme.notna().any()
    assert run.frame().equals(frame)


def test_engines_given_to_run_are_used_as_they_are_and_not_closed(tmp_path):
    from gapbench.registry import load_spec

    mine = LabEngine(load_spec(SMOL), error_rate=0.0)
    run = gapbench.run(study_dict(tmp_path / "run"), engines={"oracle": mine}, progress=False)
    assert mine.calls > 0 and not mine.closed
    assert {r.grade.success for r in run.records() if r.models == ["oracle", "oracle"]} == {True}


def test_a_registered_engine_runs_through_run_and_the_cli(tmp_path, capsys):
    models = {
        "lab": {"model": SMOL, "engine": "lab-oracle"},
        "noisy": {"model": SMOL, "engine": "lab-oracle", "options": {"error_rate": 0.5}},
    }
    path = write(tmp_path / "s.yaml", study_dict(tmp_path / "api", models=models, pairs="homogeneous"))
    LabEngine.instances.clear()
    run = gapbench.run(path, progress=False)
    assert sorted(e.agent.error_rate for e in LabEngine.instances) == [0.0, 0.5]
    assert all(e.spec.name == SMOL and e.closed for e in LabEngine.instances)
    lab = [r for r in run.records() if r.models[0] == "lab"]
    assert len(lab) == 8 and all(r.grade.success for r in lab)
    assert main(["run", str(path), "--output-dir", str(tmp_path / "cli"), "--no-progress"]) == 0
    assert "lab+lab" in capsys.readouterr().out
    assert outcomes(run.run_dir) == outcomes(tmp_path / "cli")


def test_a_registered_agent_takes_its_arguments_from_the_model_name(tmp_path):
    config = study_dict(tmp_path / "run", models={"left": "scripted:always:left"}, conditions=["collab"])
    run = gapbench.run(config, progress=False)
    for r in run.records():
        assert {m.text for m in r.transcript.agent_messages} == {"I propose we move left."}
        assert not r.grade.success
    with pytest.raises(
        ValueError, match=r"models\.x: unknown scripted agent 'scripted:always:north': direction"
    ):
        gapbench.run(study_dict(tmp_path / "bad", models={"x": "scripted:always:north"}), progress=False)


def test_one_yaml_runs_into_two_output_dirs(tmp_path, capsys):
    path = write(tmp_path / "s.yaml", study_dict(tmp_path / "configured"))
    for out in ("first", "second"):
        assert main(["run", str(path), "--output-dir", str(tmp_path / out), "--no-progress"]) == 0
        assert f"-> {tmp_path / out} (16 of 16 dialogues to go" in capsys.readouterr().out
    assert not (tmp_path / "configured").exists()
    first, second = (gapbench.read_results(tmp_path / d) for d in ("first", "second"))
    assert sorted(r.dialogue_id for r in first) == sorted(r.dialogue_id for r in second) and len(first) == 16
    assert main(["run", str(path), "--output-dir", str(tmp_path / "first"), "--no-progress"]) == 0
    assert "(0 of 16 dialogues to go" in capsys.readouterr().out


def test_the_quickstart_epilogue_says_what_ran_and_where_the_study_is(tmp_path):
    run = gapbench.run(study_dict(tmp_path / "run"), progress=False)
    records = run.records()
    first, second = epilogue(records).splitlines()
    turns = sum(len(r.transcript.agent_messages) for r in records)
    assert f"{len(records)} dialogues ({turns} messages, 0% of prompt tokens served" in first
    assert "graded by walking its route" in first and "135M" in first
    assert second.startswith("To measure the gap, run the study's design on a GPU: gapbench run ")
    assert Path(second.rsplit(" ", 1)[1]).resolve() == GPU_STUDY and GPU_STUDY.is_file()


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_gapbench_run_without_a_study_ends_with_what_the_quickstart_means(tmp_path):
    """The real quickstart (SmolLM2-135M on CPU), one shard of four to keep it short."""
    proc = subprocess.run(
        [sys.executable, "-m", "gapbench.cli", "run", "--output-dir", str(tmp_path / "q"), "--shard", "0/4"],
        capture_output=True,
        text=True,
        timeout=3500,
    )
    assert proc.returncode == 0, proc.stderr
    *_, exercised, command = proc.stdout.strip().splitlines()
    records = gapbench.read_results(tmp_path / "q")
    assert exercised.startswith(f"This exercised the whole pipeline: {len(records)} dialogues (")
    cached = re.search(r"(\d+)% of prompt tokens served from each dialogue's KV cache", exercised)
    assert cached and int(cached.group(1)) > 0
    assert command.endswith("gpu-base-vs-distilled.yaml")
