"""The grader measured against the labelled corpus (tests/data/grading), and the corpus itself.

The corpus labels are computed by the tiny independent walker in tests/grading_corpus.py; the
held-out split (the eighth to tenth, h8 to h10) was written by independent authors and is not read
while tuning, and a second blind reader labelled it again (tests/data/grading/tools/second_reading).
"""

import json
import subprocess
import sys

import pytest
import yaml
from grading_corpus import CORPUS, SPLITS, agreement, load_cases, walk_gold

from gapbench.grading.corpus import check, load_corpus
from gapbench.grading.llm import parse_grader_output
from gapbench.grading.record import grade_transcript
from gapbench.grading.validate import walk

SECOND_READING = CORPUS / "tools" / "second_reading"

# Floors at today's accuracy (docs/GRADING.md); a change that loses accuracy fails here. The
# held-out floor is the blind figure of the eighth to tenth splits with rule-13 (84.9%
# outcome-exact, 82.7% route-exact, 5 false credits in 82), not the target, which TARGET holds.
TARGET = {"outcome_exact": 0.97, "route_exact": 0.95, "false_credit": 0}
FLOORS = {
    "dev": {"outcome_exact": 0.92, "route_exact": 0.91, "false_credit": 10},
    "heldout": {"outcome_exact": 0.845, "route_exact": 0.825, "false_credit": 5},
}


@pytest.fixture(scope="module", params=SPLITS)
def graded(request):
    cases = load_corpus(CORPUS / request.param)
    grades = [grade_transcript(c.full_maze(), c.transcript()) for c in cases]
    return request.param, cases, grades


def test_the_corpus_is_large_and_labelled_by_the_independent_walker():
    collab = solo = 0
    ids = set()
    for split in SPLITS:
        for case in load_cases(split):
            assert case["id"] not in ids, case["id"]
            ids.add(case["id"])
            assert walk_gold(case["maze"], case["gold"]["route"]) == case["gold"]["outcome"], case["id"]
            assert case["note"].strip(), case["id"]
            collab += case["condition"] == "collab"
            solo += case["condition"] != "collab"
    assert collab >= 1450 and solo >= 480  # 1452 collaborations and 487 solo answers today


def test_a_second_blind_reader_labels_the_held_out_split_as_its_authors_did():
    """The labels are reproducible, so the held-out figures measure the grader, not label noise."""
    gold = {case["id"]: case for case in load_cases("heldout")}
    readings = {
        r["id"]: r["route"]
        for path in sorted(SECOND_READING.glob("heldout_*.yaml"))
        for r in yaml.safe_load(path.read_text(encoding="utf-8"))
    }
    assert readings.keys() == gold.keys()  # every held-out case is read a second time
    agree = [agreement(gold[i]["maze"], gold[i]["gold"]["route"], route) for i, route in readings.items()]
    route_exact = sum(r for r, _ in agree) / len(agree)
    outcome_exact = sum(o for _, o in agree) / len(agree)
    assert route_exact >= 0.99 and outcome_exact >= 0.99, (route_exact, outcome_exact)  # 100% today


@pytest.mark.parametrize("rule", ["favourable", "consistent"])
def test_the_llm_grader_meets_the_held_out_target_with_a_frontier_models_replies(rule):
    """Replies a frontier model wrote to the llm-3 grader prompt for every held-out case (no engine
    here can serve such a model), read by the grader's own parser, scheme search and walk: the
    instrument, given a strong grader model, meets the issue's targets (99.5% outcome-exact today)."""
    cases = load_corpus(CORPUS / "heldout")
    path = CORPUS / "tools" / "grader_replies" / "heldout_llm-3.yaml"
    replies = {r["id"]: r["reply"] for r in yaml.safe_load(path.read_text(encoding="utf-8"))}
    assert replies.keys() == {c.id for c in cases}
    grades = [
        grade_transcript(c.full_maze(), c.transcript(), parse_grader_output(replies[c.id])) for c in cases
    ]
    overall = check(cases, grades, grader="llm-3 replies", corpus="heldout", rule=rule).overall
    assert overall.outcome_exact >= TARGET["outcome_exact"], overall
    assert overall.route_exact >= TARGET["route_exact"], overall
    assert overall.false_credit == TARGET["false_credit"], overall


def test_gapbench_reads_every_case_as_the_independent_walker_does():
    for split in SPLITS:
        for case in load_corpus(CORPUS / split):
            cells = case.gold_cells()
            gold = case.gold.outcome
            if cells is None:
                assert gold.end == "no_route"
                continue
            o = walk(case.full_maze(), cells)
            assert (o.success, round(o.weighted, 4), o.end, list(o.final)) == (
                gold.success,
                gold.weighted,
                gold.end,
                gold.final,
            ), case.id


def test_rule_grader_accuracy_does_not_fall_below_its_floor(graded):
    split, cases, grades = graded
    overall = check(cases, grades, grader="rule", corpus=split).overall
    floor = FLOORS[split]
    assert overall.outcome_exact >= floor["outcome_exact"], overall
    assert overall.route_exact >= floor["route_exact"], overall
    assert overall.false_credit <= floor["false_credit"], overall


@pytest.mark.xfail(strict=True, reason="the issue's held-out targets are not met (docs/GRADING.md)")
def test_rule_grader_meets_the_held_out_target():
    cases = load_corpus(CORPUS / "heldout")
    grades = [grade_transcript(c.full_maze(), c.transcript()) for c in cases]
    overall = check(cases, grades, grader="rule", corpus="heldout").overall
    assert overall.outcome_exact >= TARGET["outcome_exact"], overall
    assert overall.route_exact >= TARGET["route_exact"], overall
    assert overall.false_credit <= TARGET["false_credit"], overall


def test_no_route_answers_never_get_credit(graded):
    """On dev: an answer read as giving no route gets nothing. (On the held-out split, a no-route
    answer misread as a route is an accuracy error, counted in its false-credit floor above.)"""
    split, cases, grades = graded
    if split != "dev":
        pytest.skip("held-out errors are measured, not tuned against")
    for case, g in zip(cases, grades):
        if case.gold.outcome.end == "no_route":
            assert g.weighted == 0.0 and not g.success and g.partial == 0.0, case.id


def test_grading_check_prints_the_figures_and_writes_json(tmp_path):
    out = tmp_path / "check.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gapbench.cli",
            "grading",
            "check",
            "--corpus",
            str(CORPUS / "dev"),
            "--json",
            str(out),
            "--show-failures",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "scheme rule: favourable" in proc.stdout and "scheme rule: consistent" in proc.stdout
    assert "by phenomenon:" in proc.stdout and "false cr." in proc.stdout and "FAIL dev-" in proc.stdout
    data = json.loads(out.read_text())
    assert [d["rule"] for d in data] == ["favourable", "consistent"]
    dev = load_corpus(CORPUS / "dev")
    assert data[0]["overall"]["n"] == len(dev)
    assert data[0]["by_phenomenon"]["terse"]["n"] == sum("terse" in c.phenomena for c in dev)


def test_a_bad_corpus_file_gets_one_line_naming_the_case_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "- id: x\n  condition: collab\n  phenomena: []\n  note: n\n  maze: '@.*'\n  messages: []\n  gold: {route: [sideways], outcome: {success: false, weighted: 0, end: route_ended, final: [0, 0]}}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "gapbench.cli", "grading", "check", "--corpus", str(bad)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "case x" in proc.stderr and "gold.route" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_grading_check_with_a_real_local_grader_model(tmp_path, smollm2_dir):
    """SmolLM2-135M as the grader model on CPU: its accuracy is poor; the command and report are tested."""
    subset = tmp_path / "subset.yaml"
    import yaml

    cases = load_cases("dev")[:4] + [c for c in load_cases("dev") if c["condition"] != "collab"][:2]
    subset.write_text(
        yaml.safe_dump([{k: v for k, v in c.items() if k != "_file"} for c in cases], allow_unicode=True)
    )
    out = tmp_path / "llm.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gapbench.cli",
            "grading",
            "check",
            "--grader",
            str(smollm2_dir),
            "--corpus",
            str(subset),
            "--max-tokens",
            "48",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"grader {smollm2_dir}" in proc.stdout and "outcome=" in proc.stdout
    data = json.loads(out.read_text())
    assert data[0]["overall"]["n"] == 6 and 0.0 <= data[0]["overall"]["outcome_exact"] <= 1.0
