"""`gapbench grading check` and `gapbench regrade`."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path


@contextlib.contextmanager
def _llm_grader(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The LLM grader named by --grader (a function from transcripts to extractions), or None for
    the rule grader; its engine is closed afterwards."""
    if args.grader == "rule":
        yield None
        return
    from gapbench.engines import build_engine
    from gapbench.grading.llm import extractor
    from gapbench.registry import load_spec

    engine = build_engine(load_spec(args.grader))
    try:
        yield extractor(engine, max_tokens=args.max_tokens, batch_size=args.batch_size)
    finally:
        engine.close()


def _grader_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--grader",
        default="rule",
        help="'rule' (default) or a grader model: registry name, card or model directory",
    )
    p.add_argument("--max-tokens", type=int, default=1024, help="LLM grader: tokens per reply (default 1024)")
    p.add_argument(
        "--batch-size", type=int, default=16, help="LLM grader: requests per engine batch (default 16)"
    )


def _cmd_grading_check(args: argparse.Namespace) -> None:
    import json

    from gapbench._resources import grading_corpus
    from gapbench.grading.corpus import check, format_report, load_corpus
    from gapbench.grading.extract import extract_rule
    from gapbench.grading.record import grade_transcript

    corpus = Path(args.corpus) if args.corpus else grading_corpus()
    cases = load_corpus(corpus)
    print(f"grading {len(cases)} cases from {corpus} with the {args.grader} grader", file=sys.stderr)
    with _llm_grader(args) as llm:
        extractions = llm([c.transcript() for c in cases]) if llm else [extract_rule for _ in cases]
    grades = [grade_transcript(c.full_maze(), c.transcript(), e) for c, e in zip(cases, extractions)]
    rules = ["favourable", "consistent"] if args.rule == "both" else [args.rule]
    reports = [check(cases, grades, grader=args.grader, corpus=str(corpus), rule=r) for r in rules]  # type: ignore[arg-type]
    print("\n\n".join(format_report(r, show_failures=args.show_failures) for r in reports))
    if args.json:
        Path(args.json).write_text(json.dumps([r.as_dict() for r in reports], indent=2) + "\n")
        print(f"\nwrote {args.json}")


def _cmd_regrade(args: argparse.Namespace) -> None:
    from gapbench.regrade import describe, regrade

    with _llm_grader(args) as llm:
        print(describe(regrade(Path(args.run_dir), llm=llm)))


def add_grading(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "grading",
        help="measure a grader against the labelled grading corpus",
        description="Measure a grader (the rule grader or an LLM grader model) against the labelled corpus of graded dialogues.",
    )
    gsub = p.add_subparsers(dest="grading_command", required=True, help="`--help` after one explains it")
    c = gsub.add_parser(
        "check",
        help="score a grader (rule, or an LLM grader model) against a labelled corpus",
        description=(
            "Grade every case of a labelled corpus (full maze, transcript, gold executed route and outcome; "
            "format: tests/data/grading/README.md) and print route-exact and outcome-exact accuracy, the "
            "weighted-outcome error, false credit (gold weighted <= 0, graded > 0) and missed credit, overall, "
            "per condition and per phenomenon. Check your grader model with this before trusting a study."
        ),
    )
    _grader_arguments(c)
    c.add_argument("--corpus", help="a corpus folder or YAML file (default: the shipped corpus, both splits)")
    c.add_argument(
        "--rule",
        choices=["favourable", "consistent", "both"],
        default="both",
        help="which scheme reading to score (default both)",
    )
    c.add_argument(
        "--show-failures",
        type=int,
        default=0,
        metavar="N",
        help="list the first N cases graded wrongly (ids, graded vs gold)",
    )
    c.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    c.set_defaults(func=_cmd_grading_check)
    r = sub.add_parser(
        "regrade",
        help="grade a run's stored transcripts again with the current grader (no dialogue is rerun)",
        description=(
            "Grade every stored transcript of RUN_DIR again, with the rule grader or an LLM grader model. "
            "The grader version goes into every grade; an earlier grade of another version is kept beside the "
            "new one (key METHOD@VERSION) and reports use the newest. Shard files are rewritten atomically."
        ),
    )
    r.add_argument("run_dir", help="a run directory (the output_dir of `gapbench run`)")
    _grader_arguments(r)
    r.set_defaults(func=_cmd_regrade)
