"""Fill and check the gold outcomes of corpus cases with the corpus walker (any split).

Usage (from the repository root):
``python tests/data/grading/tools/fill_outcomes.py [--check] --prefix h4- FILE.yaml [FILE.yaml ...]``.
Every case's ``outcome:`` line is rewritten from ``walk_gold(maze, route)``; ``--check`` only verifies.
It also checks ids (unique, with the prefix), tags (from the README), mazes, speakers and routes.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / "tests"))
from grading_corpus import _distances, _grid, walk_gold  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"
TAGS = set(
    README.read_text(encoding="utf-8")
    .split("## Phenomena (tags)")[1]
    .split("`reasoning_block`")[0]
    .replace(",", " ")
    .replace(".", " ")
    .split()
)
CONDITIONS = {"collab", "solo_full", "solo_distributed"}
OUTCOME_LINE = re.compile(r"^(\s*)outcome:.*$", re.M)


def _flow(outcome: dict) -> str:
    final = outcome["final"]
    success = "true" if outcome["success"] else "false"
    return (
        f"{{success: {success}, weighted: {outcome['weighted']}, end: {outcome['end']}, "
        f"final: [{final[0]}, {final[1]}]}}"
    )


def _problems(case: dict, prefix: str) -> list[str]:
    cid = case.get("id", "?")
    out: list[str] = []
    if not str(cid).startswith(prefix):
        out.append(f"{cid}: id must start with {prefix}")
    if case.get("condition") not in CONDITIONS:
        out.append(f"{cid}: condition {case.get('condition')!r}")
    tags = case.get("phenomena") or []
    if not tags or set(tags) - TAGS:
        out.append(f"{cid}: unknown or missing tags {sorted(set(tags) - TAGS)}")
    if not str(case.get("note", "")).strip():
        out.append(f"{cid}: empty note")
    grid = _grid(case["maze"])
    n = len(grid)
    if not 4 <= n <= 7 or any(len(row) != n for row in grid) or set("".join(grid)) - set("@*.#"):
        out.append(f"{cid}: maze must be square, 4-7, of @*.#")
        return out
    text = "".join(grid)
    if text.count("@") != 1 or text.count("*") != 1:
        out.append(f"{cid}: maze needs one @ and one *")
        return out
    start = next((r, row.index("@")) for r, row in enumerate(grid) if "@" in row)
    goal = next((r, row.index("*")) for r, row in enumerate(grid) if "*" in row)
    if goal not in _distances(grid, start):
        out.append(f"{cid}: goal not reachable")
    speakers = [m["speaker"] for m in case["messages"]]
    if case["condition"] == "collab":
        want = ["agent_1" if i % 2 == 0 else "agent_2" for i in range(len(speakers))]
        if speakers != want or len(speakers) < 2:
            out.append(f"{cid}: collab speakers must alternate from agent_1")
    elif speakers != ["agent_1", "agent_1"]:
        out.append(f"{cid}: solo needs exactly two agent_1 messages")
    if any(not str(m["text"]).strip() for m in case["messages"]):
        out.append(f"{cid}: empty message")
    route = case["gold"]["route"]
    if route is not None:
        for step in route:
            if not (step in ("up", "down", "left", "right") or (isinstance(step, list) and len(step) == 2)):
                out.append(f"{cid}: bad route step {step!r}")
    return out


def main(paths: list[Path], *, prefix: str, check: bool) -> int:
    problems: list[str] = []
    ids: Counter[str] = Counter()
    stats: Counter[str] = Counter()
    for path in paths:
        text = path.read_text(encoding="utf-8")
        cases = yaml.safe_load(text) or []
        lines = OUTCOME_LINE.findall(text)
        if len(lines) != len(cases):
            problems.append(f"{path.name}: {len(lines)} outcome lines for {len(cases)} cases")
            continue
        fills = iter([_flow(walk_gold(c["maze"], c["gold"]["route"])) for c in cases])
        new = OUTCOME_LINE.sub(lambda m, f=fills: f"{m.group(1)}outcome: {next(f)}", text)
        for case in cases:
            ids[case.get("id", "?")] += 1
            stats[case["condition"]] += 1
            stats.update(f"tag:{t}" for t in case.get("phenomena") or [])
            problems += _problems(case, prefix)
            got = case["gold"].get("outcome")
            if check and got != walk_gold(case["maze"], case["gold"]["route"]):
                problems.append(f"{case.get('id')}: stored outcome differs from the walker's")
        if not check and new != text:
            path.write_text(new, encoding="utf-8")
    problems += [f"{cid}: duplicate id" for cid, k in ids.items() if k > 1]
    print("\n".join(problems) or "all cases valid")
    print(f"{sum(ids.values())} cases:", dict(sorted(stats.items())))
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path, help="corpus YAML files to fill or check")
    parser.add_argument("--prefix", required=True, help="the split's id prefix, e.g. h4-")
    parser.add_argument("--check", action="store_true", help="only verify; write nothing")
    args = parser.parse_args()
    raise SystemExit(main(args.files, prefix=args.prefix, check=args.check))
