"""`gapbench plan-power`: the planned size reaches the target power in simulated studies, and the command on a real pilot."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from gapbench.cli import main
from gapbench.power import (
    SCALE,
    Variance,
    _busy_seconds,
    gpu_seconds,
    need,
    pilot_variances,
    planned_dialogues,
)
from gapbench.runner import run_experiment
from gapbench.stats import paired_contrast
from gapbench.study import load_config

REPO = Path(__file__).resolve().parent.parent
TARGET, ALPHA, EFFECT = 0.8, 0.05, 0.1


def _power(variance: Variance, mazes: int, rollouts: int, *, studies: int = 800, seed: int = 0) -> float:
    """Share of simulated studies of this size whose paired test (the report's) rejects at ALPHA.

    Every cell shares a maze effect; the true contrast wobbles across mazes with variance ``between``
    and every dialogue adds noise of variance ``within``. Cells: a - b, or (a - b) - (c - d)."""
    rng = np.random.default_rng(seed)
    cells = int(SCALE[variance.kind])
    # without the parts (one rollout per pilot maze) any split with the same variance at one rollout will do
    between = variance.between if variance.within is not None else variance.between / 2
    within = variance.within if variance.within is not None else variance.between / 2 / cells
    weights = [1.0, -1.0] * (cells // 2) if cells == 2 else [1.0, -1.0, -1.0, 1.0]
    ids = [f"m{i}" for i in range(mazes)]
    hits = 0
    for s in range(studies):
        maze = rng.normal(0, 0.4, (mazes, 1))
        shift = EFFECT + rng.normal(0, math.sqrt(between), (mazes, 1))  # carried by the first cell
        samples = [
            maze + (shift if c == 0 else 0) + rng.normal(0, math.sqrt(within), (mazes, rollouts))
            for c in range(cells)
        ]
        d = paired_contrast([dict(zip(ids, x.tolist())) for x in samples], weights, seed=s, resamples=500)
        hits += d.p < ALPHA
    return hits / studies


@pytest.mark.parametrize(
    ("variance", "max_mazes", "rollouts"),
    [
        (Variance("gap", 0.03, 0.08, "known"), None, 1),  # fewest dialogues: one rollout per maze
        (
            Variance("collapse", 0.02, 0.10, "known"),
            120,
            4,
        ),  # mazes are scarce: rollouts make up (3 would need 123)
        (Variance("ordering", 0.15, None, "known"), None, 1),  # a pilot with one rollout per maze
    ],
)
def test_planned_size_reaches_the_target_power(
    variance: Variance, max_mazes: int | None, rollouts: int
) -> None:
    plan = need(variance, EFFECT, alpha=ALPHA, power=TARGET, max_mazes=max_mazes)
    assert (
        plan.rollouts == rollouts
        and plan.mazes is not None
        and (max_mazes is None or plan.mazes <= max_mazes)
    )
    assert abs(_power(variance, plan.mazes, plan.rollouts) - TARGET) <= 0.05
    assert (
        _power(variance, plan.mazes // 2, plan.rollouts, studies=300, seed=1) < TARGET - 0.15
    )  # half the mazes fall short


def test_scarce_mazes_that_cannot_reach_the_power_say_so() -> None:
    plan = need(
        Variance("gap", 0.2, 0.05, "known"), EFFECT, max_mazes=50
    )  # the maze wobble alone needs ~160 mazes
    assert plan.mazes is None


@pytest.fixture(scope="module")
def pilot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real scripted pilot: 16 mazes, two rollouts, solo and both orders of a pair."""
    root = tmp_path_factory.mktemp("pilot")
    config = yaml.safe_load((REPO / "examples" / "scripted.yaml").read_text())
    config.update(
        output_dir="run",
        mazes=[{"size": 6, "density": 0.3, "count": 16, "seed": 0}],
        conditions=["solo_distributed", "collab"],
        rollouts=2,
    )
    config.pop("relay")
    (root / "pilot.yaml").write_text(yaml.safe_dump(config))
    return run_experiment(root / "pilot.yaml", progress=False, echo=lambda _: None).run_dir


def test_plan_power_on_a_scripted_pilot(pilot: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = REPO / "examples" / "gpu-base-vs-distilled.yaml"
    assert main(["plan-power", str(target), "--effect", "0.1", "--pilot", str(pilot)]) == 0
    out = capsys.readouterr().out
    variances, cost = pilot_variances([pilot])
    gap = variances["gap"]
    assert gap.within is not None and gap.within > 0 and gap.source.startswith("pilot: scripted:degraded")
    plan = need(gap, 0.1)
    collapse = need(variances["collapse"], 0.1)
    assert variances["collapse"].between == pytest.approx(2 * gap.between)  # no related models in the pilot
    row = next(line for line in out.splitlines() if line.startswith("gap "))
    assert row.split()[4:6] == [str(plan.rollouts), str(plan.mazes)]
    size = max((plan, collapse), key=lambda n: (n.mazes or 0) * n.rollouts)
    dialogues = planned_dialogues(load_config(target)[0], size.mazes or 0, size.rollouts)
    assert (
        sum(dialogues.values()) == 3 * 3 * (size.mazes or 0) * size.rollouts
    )  # 3 models x (2 solo + homogeneous collab)
    assert (
        f"study: {size.mazes} mazes x {size.rollouts} rollout(s)" in out
        and f"{sum(dialogues.values())} dialogues" in out
    )
    assert cost.unit == "messages" and cost.busy > 0  # scripted agents record no tokens
    assert (
        f"({gpu_seconds(dialogues, cost):.0f} s)" in out
        and "estimated GPU time:" in out
        and "the pilot ran scripted:" in out
    )
    assert "ordering" not in out  # the planned config runs homogeneous pairs only
    # the pilot's own variance, at the planned size, reaches the target power
    assert abs(_power(gap, plan.mazes or 0, plan.rollouts, studies=800, seed=0) - TARGET) <= 0.05


def test_plan_power_without_a_pilot_states_its_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan-power", str(REPO / "examples" / "scripted.yaml"), "--effect", "0.1"]) == 0
    out = capsys.readouterr().out
    assert (
        "stated defaults" in out
        and "default (no pilot)" in out
        and "GPU time: unknown without a pilot" in out
    )
    assert {line.split()[0] for line in out.splitlines() if "default (no pilot)" in line} == {
        "gap",
        "ordering",
        "relay",
    }


def test_plan_power_rejects_what_it_cannot_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan-power", str(REPO / "examples" / "scripted.yaml"), "--effect", "0"]) == 2
    assert "--effect 0.0: give the smallest difference" in capsys.readouterr().err
    only_collab = tmp_path / "collab.yaml"
    only_collab.write_text(yaml.safe_dump({"models": {"a": "scripted:oracle"}, "conditions": ["collab"]}))
    assert main(["plan-power", str(only_collab), "--effect", "0.1"]) == 2
    assert "makes no gap, ordering, collapse or relay comparison" in capsys.readouterr().err


def test_busy_time_counts_overlapping_dialogues_once() -> None:
    assert _busy_seconds([(0.0, 10.0), (5.0, 15.0), (20.0, 25.0), (21.0, 22.0)]) == 20.0
