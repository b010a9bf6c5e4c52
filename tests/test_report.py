"""Reports: known values in synthetic runs, a real (scripted) run, bad input, and the viewer in a browser."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gapbench.cli import main
from gapbench.report import build_report, load_published
from gapbench.report.load import load_runs, registry_relations
from gapbench.report.tables import build
from gapbench.results import RESULTS_DIR, DialogueRecord, GradeRecord, ResultsWriter, shard_name
from gapbench.rundir import RunInfo, run_hash, write_info
from gapbench.runner import run_experiment
from gapbench.stats import Difference, holm, mean_ci, paired_contrast
from gapbench.study import Study, load_mazes
from gapbench.transcript import Message, Transcript

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
TEACHER, STUDENT = "qwen3-32b", "qwen3-8b"  # related in the registry: qwen3-8b is distilled_from qwen3-32b
TOKENS = (10, 20, 30, 40)  # completion tokens of every dialogue's agent messages: median 25
PROMPT, CACHED = (
    (100, 100, 200, 200),
    (0, 0, 150, 100),
)  # prompt tokens of those messages and how many were cached
MAZES = 10  # every cell has two dialogues on each maze: value i goes to maze i % MAZES

# Weighted outcomes per (condition, models, relay K); success is weighted == 1. n = 20 each.
SOLO_VALUES = {
    ("solo_full", (TEACHER,)): [1.0] * 20,
    ("solo_distributed", (TEACHER,)): [1.0] * 16 + [0.5] * 4,  # 0.9
    ("solo_full", (STUDENT,)): [1.0] * 12 + [0.5] * 8,  # 0.8
    ("solo_distributed", (STUDENT,)): [1.0] * 14 + [0.0] * 6,  # 0.7
}
COLLAB_VALUES = {
    ("collab", (TEACHER, TEACHER), None): [1.0] * 10 + [0.6] * 10,  # 0.8
    ("collab", (STUDENT, STUDENT), None): [1.0] * 4 + [0.0] * 16,  # 0.2
    ("collab", (TEACHER, STUDENT), None): [1.0] * 16 + [0.0] * 4,  # 0.8
    ("collab", (STUDENT, TEACHER), None): [1.0] * 8 + [0.0] * 12,  # 0.4
    ("relay_primer", (TEACHER, STUDENT), 2): [1.0] * 10 + [0.0] * 10,
    ("relay_primer", (TEACHER, STUDENT), 4): [1.0] * 15 + [0.0] * 5,
    ("relay_recovery", (STUDENT, STUDENT), 2): [1.0] * 12 + [0.0] * 8,
    ("relay_recovery", (STUDENT, STUDENT), 4): [1.0] * 6 + [0.0] * 14,
}
LLM_DISAGREES = 5  # of the 20 teacher+teacher dialogues, graded by an LLM as well


def _grade(w: float, method: str = "rule") -> GradeRecord:
    return GradeRecord(
        method=method,
        steps=[["down"], ["right"]],
        success=w == 1.0,
        weighted=w,
        final=[1, 1],
        moves=2,
        optimal_moves=8,
        optimal=None,
        end="goal" if w == 1.0 else "route_ended",
        scheme=None,
        symbols="directions",
    )


def _record(
    config: Study,
    maze_id: str,
    condition: str,
    seats: tuple[str, ...],
    i: int,
    w: float,
    k: int | None = None,
    after: tuple[str, ...] | None = None,
    rule: float | None = None,
) -> DialogueRecord:
    """A dialogue graded ``w``; with ``rule`` it was graded by an LLM (``w``, primary) and by the rules (``rule``)."""
    agents = ("agent_1", "agent_2") if len(seats) == 2 else ("agent_1",)
    messages = [Message("user", "Your map:\n@ .\n. *", audience=a) for a in agents]
    messages += [
        Message(
            agents[j % len(agents)],
            f"move {j}: down",
            model=seats[j % len(seats)],
            prompt_tokens=p,
            completion_tokens=t,
            cached_tokens=c,
        )
        for j, (t, p, c) in enumerate(zip(TOKENS, PROMPT, CACHED))
    ]
    transcript = Transcript(
        maze_id,
        "collab" if condition.startswith("relay") else condition,
        seats,
        tuple(messages),
        "acti",
        "v1",
    )  # type: ignore[arg-type]
    grades = {"rule": _grade(w)} if rule is None else {"rule": _grade(rule), "llm": _grade(w, "llm")}
    return DialogueRecord(
        dialogue_id=f"{condition}-{'-'.join(seats)}-{k}-{i}",
        run_hash=run_hash(config, []),
        prompt_version="v1",
        condition=condition,
        maze_id=maze_id,
        maze_size=6,
        models=list(seats),
        rollout=i,
        seed=0,
        transcript=transcript,
        grades=grades,
        primary="rule" if rule is None else "llm",
        relay_k=k,
        relay_after=list(after) if after else None,
    )


def _write_run(run_dir: Path, config: Study, records: list[DialogueRecord]) -> None:
    write_info(
        run_dir,
        RunInfo(
            name=config.name,
            results_hash=run_hash(config, []),
            config=config.model_dump(mode="json"),
            config_path=str(run_dir / "config.yaml"),
        ),
    )
    with ResultsWriter(run_dir / RESULTS_DIR / shard_name(0, 1)) as w:
        for r in records:
            w.write(r)


def _synthetic_runs(root: Path) -> tuple[Path, Path]:
    """Solo results in one run, collaboration and relay in another that names the models by other keys."""
    mazes = [{"size": 6, "count": MAZES, "seed": 0}]
    solo = Study(
        name="solo",
        models={"big": TEACHER, "small": {"model": STUDENT}},
        mazes=mazes,
        conditions=["solo_full", "solo_distributed"],
    )
    key = {TEACHER: "t", STUDENT: "s"}
    collab = Study(
        name="collab",
        models={"t": TEACHER, "s": STUDENT},
        mazes=mazes,
        conditions=["collab", "relay"],
        pairs="all_ordered",
        relay={"strong": "t", "weak": "s", "k": [2, 4]},
        grader={"model": "t"},
    )
    maze_ids = [m.id for m in load_mazes(solo, root)]
    solo_key = {TEACHER: "big", STUDENT: "small"}
    solo_records = [
        _record(solo, maze_ids[i % MAZES], cond, tuple(solo_key[m] for m in models), i, w)
        for (cond, models), values in SOLO_VALUES.items()
        for i, w in enumerate(values)
    ]
    collab_records = []
    for (cond, models, k), values in COLLAB_VALUES.items():
        seats = tuple(key[m] for m in models)
        after = None if k is None else (("s", "s") if cond == "relay_primer" else ("t", "s"))
        for i, w in enumerate(values):
            rule = None
            if models == (
                TEACHER,
                TEACHER,
            ):  # graded by an LLM too; the rules disagree on the first five (all 1.0)
                rule = 0.0 if i < LLM_DISAGREES else w
            collab_records.append(_record(collab, maze_ids[i % MAZES], cond, seats, i, w, k, after, rule))
    a, b = root / "run-solo", root / "run-collab"
    _write_run(a, solo, solo_records)
    _write_run(b, collab, collab_records)
    return a, b


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("synthetic")
    a, b = _synthetic_runs(root)
    html = build_report([a, b], root / "report")
    return a, b, html


def _w(cond: str, models: tuple[str, ...], k: int | None = None) -> list[float]:
    return SOLO_VALUES[(cond, models)] if cond.startswith("solo") else COLLAB_VALUES[(cond, models, k)]


def _s(cond: str, models: tuple[str, ...], k: int | None = None) -> list[float]:
    return [float(w == 1.0) for w in _w(cond, models, k)]


def _maze_ids() -> list[str]:
    return [
        m.id
        for m in load_mazes(
            Study(models={"m": TEACHER}, mazes=[{"size": 6, "count": MAZES, "seed": 0}]), REPO
        )
    ]


def _by_maze(values: list[float]) -> dict[str, list[float]]:
    """The synthetic values by maze id, as the report pairs them."""
    ids = _maze_ids()
    out: dict[str, list[float]] = {}
    for i, v in enumerate(values):
        out.setdefault(ids[i % MAZES], []).append(v)
    return out


def _raw(d: Difference) -> Difference:
    return dataclasses.replace(d, p_adjusted=None)


def test_gaps_and_cis_match_known_values(synthetic: tuple[Path, Path, Path]) -> None:
    a, b, _ = synthetic
    loaded = load_runs([a, b])
    links, _ = registry_relations()
    report = build(loaded.entries, loaded.runs, links, load_published(), {})
    rows = {r.model: r for r in report.homogeneous}
    assert set(rows) == {TEACHER, STUDENT}  # pooled across runs by model name, not config key
    t, s = rows[TEACHER], rows[STUDENT]
    assert t.solo_distributed.weighted.mean == pytest.approx(0.9)
    assert t.collab.weighted.mean == pytest.approx(0.8)
    assert t.gap_distributed.weighted.mean == pytest.approx(0.1)
    assert t.gap_full.weighted.mean == pytest.approx(0.2)
    assert s.gap_distributed.weighted.mean == pytest.approx(0.5)
    assert s.gap_distributed.success.mean == pytest.approx(0.7 - 0.2)
    assert s.gap_full.weighted.mean == pytest.approx(0.6)
    # CIs are the maze-clustered bootstrap's, and differences are paired on exactly these mazes
    values = _w("collab", (TEACHER, TEACHER))
    assert t.collab.weighted == mean_ci(values, clusters=[_maze_ids()[i % MAZES] for i in range(len(values))])
    assert t.collab.weighted.mazes == MAZES and t.collab.weighted.n == 20
    solo_d, collab_ss = ("solo_distributed", (STUDENT,)), ("collab", (STUDENT, STUDENT))
    assert _raw(s.gap_distributed.weighted) == paired_contrast(
        [_by_maze(_w(*solo_d)), _by_maze(_w(*collab_ss))], [1, -1]
    )
    assert _raw(s.gap_distributed.success) == paired_contrast(
        [_by_maze(_s(*solo_d)), _by_maze(_s(*collab_ss))], [1, -1], binary=True
    )
    assert (
        s.gap_distributed.weighted.mazes == MAZES and s.gap_distributed.weighted.test == "sign flips by maze"
    )
    assert (
        s.gap_distributed.success.test == "clustered McNemar (sign flips by maze)"
    )  # two dialogues per maze and cell
    # the student's gap is 0.5 on every maze (mazes 0-3: 1 - 0.5, mazes 4-9: 0.5 - 0): paired, no uncertainty is left,
    # and the exact sign-flip test gives the 2 of 2**10 sign patterns as extreme as all-positive
    gap = s.gap_distributed.weighted
    assert gap.low == gap.high == 0.5 and gap.p == pytest.approx(2 / 2**MAZES) and gap.components.total == 0.0
    assert s.gap_distributed.weighted.significant and not t.gap_distributed.weighted.significant
    assert t.solo_full.weighted.low == t.solo_full.weighted.high == 1.0  # constant sample: zero width

    assert report.matrix is not None and report.matrix.models == [TEACHER, STUDENT]
    assert report.matrix.get(TEACHER, STUDENT).weighted.mean == pytest.approx(0.8)
    assert report.matrix.get(STUDENT, TEACHER).weighted.mean == pytest.approx(0.4)
    [order] = report.ordering
    assert (order.a, order.b) == (TEACHER, STUDENT)
    assert _raw(order.effect.weighted) == paired_contrast(
        [_by_maze(_w("collab", (TEACHER, STUDENT))), _by_maze(_w("collab", (STUDENT, TEACHER)))], [1, -1]
    )
    assert (
        order.effect.weighted.mean == pytest.approx(0.4)
        and order.effect.weighted.low > 0
        and order.effect.weighted.significant
    )
    marked = {(c.first, c.second): c.ordering_significant for c in report.matrix.cells}
    assert marked == {
        (TEACHER, STUDENT): True,
        (STUDENT, TEACHER): True,
        (TEACHER, TEACHER): None,
        (STUDENT, STUDENT): None,
    }

    [curve] = report.relay
    assert (curve.strong, curve.weak) == (TEACHER, STUDENT)
    assert [p.k for p in curve.points] == [2, 4]
    assert [p.primer.weighted.mean for p in curve.points] == pytest.approx([0.5, 0.75])
    assert [p.recovery.weighted.mean for p in curve.points] == pytest.approx([0.6, 0.3])
    assert curve.weak_weak.weighted.mean == pytest.approx(0.2)
    assert curve.strong_weak.weighted.mean == pytest.approx(0.8)
    assert [p.primer_gain.weighted.mean for p in curve.points] == pytest.approx([0.5 - 0.2, 0.75 - 0.2])
    assert [p.recovery_gain.success.mean for p in curve.points] == pytest.approx([0.6 - 0.2, 0.3 - 0.2])

    [rel] = [r for r in report.relations if (r.source, r.derived) == (TEACHER, STUDENT)]
    assert rel.kind == "distilled" and rel.solo_condition == "solo_distributed"
    assert rel.drop_solo.mean == pytest.approx(0.2)
    assert rel.drop_collab.mean == pytest.approx(0.6)
    assert _raw(rel.collapse) == paired_contrast(
        [
            _by_maze(_w("collab", (TEACHER, TEACHER))),
            _by_maze(_w("collab", (STUDENT, STUDENT))),
            _by_maze(_w("solo_distributed", (TEACHER,))),
            _by_maze(_w("solo_distributed", (STUDENT,))),
        ],
        [1, -1, -1, 1],
    )
    assert (
        rel.collapse.mean == pytest.approx(0.4)
        and rel.collapse.components.scale == 4
        and rel.collapses is True
    )

    # Holm over every weighted difference of the report, another family for success
    found: list[Difference] = []
    for r in report.homogeneous:
        found += [g.weighted for g in (r.gap_distributed, r.gap_full) if g]
    found += [order.effect.weighted] + [
        g.weighted for p in curve.points for g in (p.primer_gain, p.recovery_gain)
    ]
    found += [d for r in report.relations for d in (r.drop_solo, r.drop_collab, r.collapse) if d]
    assert [d.p_adjusted for d in found] == holm([d.p for d in found])
    assert all(d.p_adjusted >= d.p for d in found) and report.method.startswith(
        "Means: percentile bootstrap over mazes"
    )

    [agree] = report.agreement
    assert (
        agree.condition == "collab"
        and agree.agreement.mean == pytest.approx(15 / 20)
        and agree.agreement.n == 20
    )

    eff = {(r.models, r.condition): r for r in report.efficiency}
    tt = eff[(f"{TEACHER}+{TEACHER}", "collab")]
    assert (tt.n, tt.messages, tt.median_tokens, tt.tokens) == (20, 4.0, 25.0, 100.0)
    bucket = next(r for r in report.buckets if (r.models, r.condition) == (f"{TEACHER}+{TEACHER}", "collab"))
    assert bucket.counts == [0, 0, 10, 10] and bucket.messages == [None, None, 4.0, 4.0]
    cache = {(r.model, r.seat): r for r in report.cache}
    first, second, solo = cache[(TEACHER, "agent_1")], cache[(STUDENT, "agent_2")], cache[(STUDENT, "solo")]
    assert first.by_turn == [0.0, 0.75] and first.cached_fraction == pytest.approx(150 / 300)
    assert second.by_turn == [0.0, 0.5] and second.cached_fraction == pytest.approx(100 / 300)
    assert solo.by_turn == [0.0, 0.0, 0.75, 0.5] and solo.messages == 40 * 4
    assert {r.condition for r in report.schemes} >= {"collab", "solo_full"}
    assert not {"homogeneous", "heterogeneous", "relay", "relations", "agreement", "efficiency"} & set(
        report.notes
    )


def test_outputs_are_written(synthetic: tuple[Path, Path, Path]) -> None:
    _, _, html = synthetic
    out = html.parent
    for name in (
        "report.md",
        "report.json",
        "homogeneous.png",
        "published.png",
        "heterogeneous.png",
        "ordering.png",
        "relay.png",
        "relations.png",
        "efficiency.png",
        "cache.png",
    ):
        assert (out / name).is_file(), name
    md = (out / "report.md").read_text()
    assert "Base vs distilled" in md and "2511.02687" in md and "percentile bootstrap over mazes" in md
    data = json.loads((out / "report.json").read_text())
    student = next(r for r in data["homogeneous"] if r["model"] == STUDENT)
    gap = student["gap_distributed"]["weighted"]
    assert (
        gap["mean"] == pytest.approx(0.5)
        and gap["mazes"] == MAZES
        and 0 < gap["p"] <= gap["p_adjusted"] < 0.05
    )
    row = next(
        line for line in md.splitlines() if line.startswith(f"| {STUDENT} | solo distributed - collab |")
    )
    assert f"+0.50 [{gap['low']:.2f}, {gap['high']:.2f}]" in row and f"| {MAZES} |" in row and "*" in row
    matrix_row = next(
        line for line in md.splitlines() if line.startswith(f"| {TEACHER} | 0.80 [")
    )  # teacher first: self, then student
    assert matrix_row.split(" | ")[1].endswith("(n=20)") and matrix_row.endswith(
        "(n=20) \u2020 |"
    )  # significant ordering marked
    assert (
        data["method"].startswith("Means:")
        and data["cache"]
        and data["matrix"]["cells"][1]["ordering_significant"] is not None
    )
    assert data["source"]["arxiv"] == "2511.02687"
    page = html.read_text()
    assert page.count("data:image/png;base64,") == 8
    assert 'src="http' not in page and "<link" not in page  # self-contained
    dialogues = json.loads(page.split('id="dialogues">', 1)[1].split("</script>", 1)[0])
    assert len(dialogues) == sum(len(v) for v in SOLO_VALUES.values()) + sum(
        len(v) for v in COLLAB_VALUES.values()
    )
    assert all(d["maze"] and len(d["maze"]["rows"]) == 6 for d in dialogues)
    collab = next(d for d in dialogues if d["condition"] == "collab")
    assert {m["model"] for m in collab["messages"]} == {
        None,
        collab["models"][0],
    }  # keys shown as model names
    assert len(collab["maze"]["views"]) == 2 and collab["grades"][collab["primary"]]["route"][:3] == [
        [0, 0],
        [1, 0],
        [1, 1],
    ]


def test_differences_use_only_mazes_both_sides_finished(tmp_path: Path) -> None:
    """Solo ran on mazes 0-4 only (a partial run): the gap pairs those five; with no maze in common, no gap and a note."""
    mazes = [{"size": 6, "count": MAZES, "seed": 0}]
    solo = Study(name="solo", models={"s": STUDENT}, mazes=mazes, conditions=["solo_distributed"])
    collab = Study(name="collab", models={"s": STUDENT}, mazes=mazes, conditions=["collab"])
    ids = _maze_ids()
    solo_values, collab_values = _w("solo_distributed", (STUDENT,)), _w("collab", (STUDENT, STUDENT))
    _write_run(
        tmp_path / "solo",
        solo,
        [
            _record(solo, ids[i % MAZES], "solo_distributed", ("s",), i, w)
            for i, w in enumerate(solo_values)
            if i % MAZES < 5
        ],
    )
    _write_run(
        tmp_path / "collab",
        collab,
        [_record(collab, ids[i % MAZES], "collab", ("s", "s"), i, w) for i, w in enumerate(collab_values)],
    )
    loaded = load_runs([tmp_path / "solo", tmp_path / "collab"])
    [row] = build(loaded.entries, loaded.runs, [], {}, {}).homogeneous
    gap = row.gap_distributed.weighted
    assert (gap.mazes, gap.dialogues) == (5, 20) and row.collab.weighted.mazes == MAZES
    first = [i for i in range(20) if i % MAZES < 5]
    assert gap.mean == pytest.approx(sum(solo_values[i] - collab_values[i] for i in first) / len(first))

    _write_run(
        tmp_path / "late",
        collab,
        [
            _record(collab, ids[i % MAZES], "collab", ("s", "s"), i, w)
            for i, w in enumerate(collab_values)
            if i % MAZES >= 5
        ],
    )
    loaded = load_runs([tmp_path / "solo", tmp_path / "late"])
    report = build(loaded.entries, loaded.runs, [], {}, {})
    assert report.homogeneous[0].gap_distributed is None
    assert (
        report.notes["homogeneous"]
        == f"solo and collaboration share no maze for {STUDENT}, so no gap; run both on the same mazes"
    )


def test_published_numbers_ship_with_source() -> None:
    pub = load_published()
    assert pub["source"]["arxiv"] == "2511.02687"
    homo = {p["model"]: p for p in pub["homogeneous"]}
    assert len(homo) == 18 and homo["gpt-5"]["weighted"] == 0.99 and homo["command-r7b"]["success"] == 0.0
    assert {(o["first"], o["second"]) for o in pub["ordering"]} >= {
        ("o3", "gpt-4.1-mini"),
        ("gpt-5", "gpt-5-nano"),
    }


def test_missing_sections_are_skipped_with_a_note(synthetic: tuple[Path, Path, Path], tmp_path: Path) -> None:
    a, _, _ = synthetic
    html = build_report([a, a], tmp_path / "out")  # the same run twice counts once
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["runs"][0]["records"] == 80 and len(data["runs"]) == 1
    assert set(data["notes"]) >= {"heterogeneous", "relay", "agreement"}
    assert data["matrix"] is None and data["relay"] == [] and data["ordering"] == []
    assert "no relay conditions" in (tmp_path / "out" / "report.md").read_text()
    assert not (tmp_path / "out" / "relay.png").exists() and html.is_file()


def test_bad_run_dirs_fail_clearly(synthetic: tuple[Path, Path, Path], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a directory"):
        build_report([tmp_path / "missing"], tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no results"):
        build_report([tmp_path / "empty"], tmp_path / "out")
    (tmp_path / "torn" / RESULTS_DIR).mkdir(parents=True)
    (tmp_path / "torn" / RESULTS_DIR / shard_name(0, 1)).write_text('{"dialogue_id": "half a rec')
    with pytest.raises(ValueError, match="no complete records"):
        build_report([tmp_path / "torn"], tmp_path / "out")
    a, b, _ = synthetic
    mixed = tmp_path / "mixed"
    shutil.copytree(a, mixed)
    other = next((b / RESULTS_DIR).glob("*.jsonl")).read_text()
    with open(next((mixed / RESULTS_DIR).glob("*.jsonl")), "a") as f:
        f.write(other)
    with pytest.raises(ValueError, match="holds results of another config"):
        build_report([mixed], tmp_path / "out")
    assert main(["report", str(mixed), "--out", str(tmp_path / "out")]) == 2


@pytest.fixture(scope="module")
def scripted_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run: the scripted example on three mazes, one relay K, then its report through the CLI."""
    root = tmp_path_factory.mktemp("scripted")
    config = yaml.safe_load((REPO / "examples" / "scripted.yaml").read_text())
    config.update(
        output_dir="run",
        mazes=[{"size": 6, "density": 0.3, "count": 3, "seed": 0}],
        conditions=["solo_distributed", "collab", "relay"],
    )
    config["relay"]["k"] = [2]
    (root / "scripted.yaml").write_text(yaml.safe_dump(config))
    result = run_experiment(root / "scripted.yaml", progress=False, echo=lambda _: None)
    assert main(["report", str(result.run_dir), "--out", str(root / "report"), "--per-group", "2"]) == 0
    return root / "report" / "report.html"


def test_report_of_a_real_run(scripted_report: Path) -> None:
    data = json.loads((scripted_report.parent / "report.json").read_text())
    assert data["runs"][0]["records"] == 3 * (2 + 4 + 2) and data["runs"][0]["mazes"] == 3
    oracle = next(r for r in data["homogeneous"] if r["model"] == "scripted:oracle")
    assert oracle["collab"]["success"]["mean"] == 1.0 and oracle["gap_full"] is None
    gap = oracle["gap_distributed"]  # the oracle solves every maze alone and in a pair: no gap, p = 1
    assert (
        gap["weighted"]["mean"] == 0 and gap["weighted"]["p_adjusted"] == 1 and gap["weighted"]["mazes"] == 3
    )
    assert gap["success"]["test"] == "McNemar exact"  # one dialogue per maze and cell
    effect = data["ordering"][0]["effect"]["weighted"]
    assert (
        effect["mazes"] == 3
        and effect["p_adjusted"] is not None
        and effect["low"] <= effect["mean"] <= effect["high"]
    )
    md = (scripted_report.parent / "report.md").read_text()
    assert (
        "**Collaboration gap**" in md
        and "| scripted:oracle | solo distributed - collab | +0.00 [0.00, 0.00] | 1.000 |" in md
    )
    assert len(data["matrix"]["models"]) == 2 and len(data["ordering"]) == 1
    [curve] = data["relay"]
    assert curve["strong"] == "scripted:oracle" and [p["k"] for p in curve["points"]] == [2]
    page = scripted_report.read_text()
    dialogues = json.loads(page.split('id="dialogues">', 1)[1].split("</script>", 1)[0])
    assert len(dialogues) == 8 * 2 and "16 of 24 dialogues" in page
    assert all(len(d["maze"]["views"]) == 2 for d in dialogues)


@pytest.mark.browser
@pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)
def test_viewer_draws_maze_and_dialogue_in_a_browser(scripted_report: Path, tmp_path: Path) -> None:
    page = scripted_report.read_text()
    dialogues = json.loads(page.split('id="dialogues">', 1)[1].split("</script>", 1)[0])
    pick = next(d for d in dialogues if d["condition"] == "relay_primer")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-quic",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    url = f"{scripted_report.as_uri()}#dialogue={pick['id']}"
    dom = subprocess.run(
        [str(CHROMIUM), *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    viewer = dom.split('id="viewer"', 1)[1]
    full, rest = viewer.split('id="maze-view1"', 1)
    view1, view2 = rest.split('id="maze-view2"', 1)
    assert full.count('class="cell ') == 36  # the full 6x6 maze
    assert "cell wall" in full and "cell goal" in full and "route-line" in full and "cell hidden" not in full
    assert view1.count('class="cell ') == 36 and "cell hidden" in view1
    assert view2.split('id="grade"')[0].count("cell hidden") > 0
    agent_messages = [m for m in pick["messages"] if m["speaker"] != "user"]
    assert dom.count('class="msg agent_') == len(agent_messages) and 'class="msg user"' in dom
    assert f"after K={pick['k']} messages the seats are" in dom
    shot = tmp_path / "viewer.png"
    subprocess.run(
        [str(CHROMIUM), *flags, "--window-size=1200,9000", f"--screenshot={shot}", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 10_000


def test_error_counts_stand_next_to_n(tmp_path: Path) -> None:
    """Dialogues that ended in an engine error count in n (scoring 0); each cell says how many."""
    mazes = [{"size": 6, "count": MAZES, "seed": 0}]
    collab = Study(name="collab", models={"s": STUDENT}, mazes=mazes, conditions=["collab"])
    ids = _maze_ids()
    records = [
        _record(collab, ids[i % MAZES], "collab", ("s", "s"), i, w)
        for i, w in enumerate(_w("collab", (STUDENT, STUDENT)))
    ]
    records[:3] = [
        dataclasses.replace(r, transcript=dataclasses.replace(r.transcript, end="error", error="HTTP 500"))
        for r in records[:3]
    ]
    _write_run(tmp_path / "collab", collab, records)
    loaded = load_runs([tmp_path / "collab"])
    [row] = build(loaded.entries, loaded.runs, [], {}, {}).homogeneous
    assert row.collab.errors == 3
    build_report([tmp_path / "collab"], tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text()
    assert f"(n={len(records)}, 3 errors)" in md
