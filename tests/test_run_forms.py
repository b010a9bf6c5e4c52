"""run_experiment takes a study as a path, a str, a dict or a `Study`, ready engines and an output
directory: every form runs the same dialogues (scripted agents, the real scheduler and run directory)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gapbench.agents import ScriptedEngine
from gapbench.maze import MazeParams
from gapbench.mazeset import generate_set
from gapbench.results import read_results
from gapbench.rundir import RUN_FILE
from gapbench.runner import run_experiment
from gapbench.study import Study
from gapbench.transcript import AGENTS


def study(out: Path) -> dict:
    return {
        "name": "forms",
        "output_dir": str(out),
        "models": {"oracle": "scripted:oracle", "degraded": "scripted:degraded:0.3"},
        "mazes": [{"size": 5, "count": 3, "seed": 1}],
        "conditions": ["solo_full", "collab"],
        "max_turns": 12,
    }


def outcomes(run_dir: Path) -> dict[str, tuple[str, float]]:
    return {r.dialogue_id: (r.transcript.to_json(), r.grade.weighted) for r in read_results(run_dir)}


@pytest.fixture
def reference(tmp_path: Path) -> dict[str, tuple[str, float]]:
    path = tmp_path / "ref.yaml"
    path.write_text(yaml.safe_dump(study(tmp_path / "ref")))
    run_experiment(path, progress=False)
    found = outcomes(tmp_path / "ref")
    assert len(found) == 3 * (2 + 2)
    return found


@pytest.mark.parametrize("form", ["str", "dict", "study"])
def test_every_form_of_a_study_runs_the_same_dialogues(tmp_path, reference, form) -> None:
    out = tmp_path / form
    if form == "str":
        path = tmp_path / "s.yaml"
        path.write_text(yaml.safe_dump(study(out)))
        given: str | dict | Study = str(path)
    else:
        given = study(out) if form == "dict" else Study.model_validate(study(out))
    result = run_experiment(given, progress=False)
    assert result.written == len(reference) and result.run_dir == out
    assert outcomes(out) == reference
    info = json.loads((out / RUN_FILE).read_text())
    assert info["config"]["name"] == "forms"
    assert (info["config_path"] is None) == (form != "str")
    kept = yaml.safe_load((out / "config.yaml").read_text())  # the study's copy, a file or not
    assert Study.model_validate(kept).models == Study.model_validate(study(out)).models
    assert run_experiment(given, progress=False).written == 0  # and it resumes like a file


def test_a_dict_is_validated_like_the_yaml(tmp_path) -> None:
    bad = {**study(tmp_path / "run"), "rollouts": 0, "max_turn": 3}
    with pytest.raises(ValueError, match="study has invalid settings") as caught:
        run_experiment(bad, progress=False)
    assert "rollouts:" in str(caught.value) and "max_turn:" in str(caught.value)


def test_relative_paths_of_a_dict_resolve_against_the_current_directory(tmp_path, monkeypatch) -> None:
    generate_set(MazeParams(size=5), count=2, seed=4, out=tmp_path / "mazes")
    monkeypatch.chdir(tmp_path)
    result = run_experiment({**study(Path("run")), "mazes": [{"path": "mazes"}]}, progress=False)
    assert result.run_dir == tmp_path / "run" and len(read_results(tmp_path / "run")) == 2 * 4


def test_output_dir_overrides_the_studys(tmp_path, reference) -> None:
    result = run_experiment(study(tmp_path / "ignored"), output_dir=tmp_path / "here", progress=False)
    assert result.run_dir == tmp_path / "here" and not (tmp_path / "ignored").exists()
    assert outcomes(tmp_path / "here") == reference


class Counting:
    """A ready engine: counts its requests and the conversations it was told are over."""

    def __init__(self, model: str) -> None:
        self.inner, self.name = ScriptedEngine(model), model
        self.requests, self.ended, self.closed, self.last = 0, set(), False, []

    def generate(self, requests):
        self.requests += len(requests)
        self.last += [r.last for r in requests]
        return self.inner.generate(requests)

    def end(self, conversation_id: str) -> None:
        self.ended.add(conversation_id)

    def close(self) -> None:
        self.closed = True


def test_given_engines_serve_their_keys_and_the_rest_are_built(tmp_path, reference) -> None:
    oracle = Counting("scripted:oracle")
    result = run_experiment(study(tmp_path / "run"), engines={"oracle": oracle}, progress=False)
    assert outcomes(tmp_path / "run") == reference and result.written == len(reference)
    records = [r for r in read_results(tmp_path / "run") if "oracle" in r.models]
    assert oracle.requests == sum(len(r.transcript.agent_messages) for r in records) > 0  # no degraded turn
    assert not oracle.closed  # the caller closes what it gave
    # every conversation it served was ended once its dialogue was over
    assert oracle.ended == {f"{r.dialogue_id}/{a}/oracle" for r in records for a, _ in zip(AGENTS, r.models)}


def test_a_key_given_an_engine_need_not_resolve(tmp_path) -> None:
    """A model that no registry knows runs when its engine is given."""
    config = {**study(tmp_path / "run"), "models": {"mine": "my-own-model"}}
    with pytest.raises(ValueError, match="models.mine"):
        run_experiment(config, progress=False)
    run_experiment(config, engines={"mine": Counting("scripted:oracle")}, progress=False)
    assert len(read_results(tmp_path / "run")) == 3 * 2


def test_the_grader_asks_once_per_dialogue_and_keeps_nothing(tmp_path) -> None:
    """A grading request is its conversation's last: the engine forgets it unasked."""
    judge = Counting("scripted:oracle")
    config = {**study(tmp_path / "run"), "grader": {"model": "judge"}}
    run_experiment(config, engines={"judge": judge}, progress=False)
    records = read_results(tmp_path / "run")
    assert len(records) == 3 * 4 and all("llm" in r.grades for r in records)
    assert judge.requests == len(records) and all(judge.last) and not judge.ended
