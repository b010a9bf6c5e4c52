"""The LLM grader's pipeline measured with replies written outside gapbench (e.g. by a frontier model).

``gapbench grading check --grader MODEL`` needs the model served by an engine. This tool splits the
same measurement in two, so replies can come from anywhere: ``export`` writes the exact requests
the LLM grader sends (its system prompt once, then each case's user message), shuffled into shards;
``score`` reads the replies back through the grader's own parser, scheme search and walk
(``parse_grader_output`` and ``grade_transcript``) and prints the figures of ``gapbench grading
check``.

Usage (from the repository root)::

    python tests/data/grading/tools/grader_replies.py export --out DIR --shards 8 tests/data/grading/heldout
    python tests/data/grading/tools/grader_replies.py score tests/data/grading/heldout --replies R.yaml ...

A replies file is a YAML list of ``{id: ..., reply: "the grader model's whole reply"}``.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import yaml

from gapbench.grading.corpus import check, format_report, load_corpus
from gapbench.grading.llm import grader_request, parse_grader_output
from gapbench.grading.record import grade_transcript

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annotation import dump_yaml  # noqa: E402


def export(corpus: Path, *, out: Path, shards: int, seed: int) -> None:
    cases = load_corpus(corpus)
    random.Random(seed).shuffle(cases)
    out.mkdir(parents=True, exist_ok=True)
    system = ""
    for k in range(shards):
        requests = []
        for case in cases[k::shards]:
            system, user = (
                m.content for m in grader_request(case.transcript(), case.id, max_tokens=1).messages
            )
            requests.append({"id": case.id, "user": user})
        dump_yaml(requests, out / f"requests_{k + 1}.yaml")
    (out / "SYSTEM.txt").write_text(system, encoding="utf-8")
    print(f"{len(cases)} requests in {shards} shards under {out} (the system prompt: SYSTEM.txt)")


def score(corpus: Path, replies: list[Path], *, show_failures: int) -> int:
    cases = {c.id: c for c in load_corpus(corpus)}
    got = {r["id"]: r["reply"] for path in replies for r in yaml.safe_load(path.read_text(encoding="utf-8"))}
    unknown = sorted(set(got) - set(cases))
    if unknown:
        print(f"replies for ids that are not in {corpus}: {unknown}")
        return 1
    if len(got) < len(cases):
        print(f"{len(cases) - len(got)} of {len(cases)} cases have no reply; scoring the {len(got)} that do")
    scored = [cases[i] for i in sorted(got)]
    grades = [grade_transcript(c.full_maze(), c.transcript(), parse_grader_output(got[c.id])) for c in scored]
    for rule in ("favourable", "consistent"):
        report = check(scored, grades, grader="replies", corpus=str(corpus), rule=rule)
        print(format_report(report, show_failures=show_failures if rule == "favourable" else 0))
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write the LLM grader's requests, shuffled into shards")
    ex.add_argument("corpus", type=Path, help="a corpus folder or YAML file")
    ex.add_argument("--out", type=Path, required=True, help="folder for requests_K.yaml and SYSTEM.txt")
    ex.add_argument("--shards", type=int, default=1, help="how many shards (default 1)")
    ex.add_argument("--seed", type=int, default=0, help="shuffle seed (default 0)")
    sc = sub.add_parser("score", help="grade the replies as the LLM grader would and score them")
    sc.add_argument("corpus", type=Path, help="the corpus the requests came from")
    sc.add_argument("--replies", nargs="+", type=Path, required=True, help="replies YAML files")
    sc.add_argument("--show-failures", type=int, default=0, help="list the first N cases graded wrongly")
    args = parser.parse_args()
    if args.command == "export":
        export(args.corpus, out=args.out, shards=args.shards, seed=args.seed)
    else:
        raise SystemExit(score(args.corpus, args.replies, show_failures=args.show_failures))
