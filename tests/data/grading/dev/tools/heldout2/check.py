"""Fill and check the h2 held-out cases: outcomes come only from tests/grading_corpus.py's walker.

Usage: python tests/data/grading/heldout/tools/check.py [--fill]
  --fill   rewrite every case's gold.outcome from the walker (the files are re-dumped as YAML)
Without --fill it only checks, and exits non-zero on any problem.
"""

from __future__ import annotations

import sys
from collections import Counter, deque
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SPLIT = HERE.parent
sys.path.insert(0, str(SPLIT.parents[2]))  # tests/
from grading_corpus import walk_gold  # noqa: E402

TAGS = set(
    [
        "terse",
        "verbose",
        "markdown",
        "directions",
        "coordinates",
        "xy",
        "one_based",
        "rXcY",
        "letter_number",
        "named_fields",
        "ordinal_words",
        "arrows",
        "repetition",
        "multi_step_plan",
        "alternatives",
        "questions",
        "proposing_question",
        "rejection",
        "negation",
        "conditional",
        "backtrack",
        "agreement_variety",
        "emoji",
        "narration",
        "position_claims",
        "wall_agreed",
        "false_acti",
        "after_end",
        "split_up",
        "no_agreement",
        "refusal",
        "unicode",
        "fullwidth",
        "critic_changes",
        "no_route",
        "solo_list",
        "solo_prose",
        "reasoning_block",
    ]
)
CONDITIONS = {"collab", "solo_full", "solo_distributed"}
STEP = {"up": (-1, 0), "down": (1, 0), "left": (0, -1), "right": (0, 1)}


class _Literal(str):
    pass


def _literal(dumper: yaml.SafeDumper, data: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")


yaml.SafeDumper.add_representer(_Literal, _literal)


def _maze_problems(text: str) -> list[str]:
    rows = [r for r in text.strip().splitlines() if r.strip()]
    n = len(rows)
    out = []
    if not 4 <= n <= 8:
        out.append(f"size {n} outside 4-8")
    if any(len(r) != n for r in rows) or any(set(r) - set("@*.#") for r in rows):
        out.append("maze rows must be square and hold only @*.#")
        return out
    flat = "".join(rows)
    if flat.count("@") != 1 or flat.count("*") != 1:
        return out + ["need exactly one @ and one *"]
    start = next((r, row.index("@")) for r, row in enumerate(rows) if "@" in row)
    seen, queue = {start}, deque([start])
    while queue:
        r, c = queue.popleft()
        for dr, dc in STEP.values():
            nr, nc = r + dr, c + dc
            if 0 <= nr < n and 0 <= nc < n and rows[nr][nc] != "#" and (nr, nc) not in seen:
                seen.add((nr, nc))
                queue.append((nr, nc))
    if not any(rows[r][c] == "*" for r, c in seen):
        out.append("goal not reachable from start")
    return out


def check(cases: list[dict]) -> list[str]:
    problems: list[str] = []
    ids = Counter(c.get("id") for c in cases)
    for dup in [i for i, k in ids.items() if k > 1]:
        problems.append(f"duplicate id {dup}")
    for c in cases:
        cid = c.get("id", "?")
        say = lambda msg, cid=cid: problems.append(f"{cid}: {msg}")  # noqa: E731
        if not str(cid).startswith("h2-"):
            say("id must start with h2-")
        if c.get("condition") not in CONDITIONS:
            say(f"condition {c.get('condition')!r}")
        bad = set(c.get("phenomena") or []) - TAGS
        if bad or not c.get("phenomena"):
            say(f"phenomena missing or unknown: {sorted(bad)}")
        if not str(c.get("note", "")).strip():
            say("note missing")
        problems.extend(f"{cid}: {p}" for p in _maze_problems(c["maze"]))
        msgs = c.get("messages") or []
        if c["condition"] == "collab":
            for i, m in enumerate(msgs):
                if m["speaker"] != ("agent_1" if i % 2 == 0 else "agent_2"):
                    say(f"message {i} speaker {m['speaker']} breaks alternation")
            if len(msgs) < 2:
                say("a collaboration needs at least two messages")
        else:
            if len(msgs) != 2 or any(m["speaker"] != "agent_1" for m in msgs):
                say("a solo case needs two agent_1 messages (first answer, final answer)")
        if any(not str(m.get("text", "")).strip() for m in msgs):
            say("empty message")
        route = c["gold"]["route"]
        if route is not None:
            for step in route:
                if not (
                    (isinstance(step, str) and step in STEP) or (isinstance(step, list) and len(step) == 2)
                ):
                    say(f"bad route step {step!r}")
        want = walk_gold(c["maze"], route)
        if c["gold"].get("outcome") != want:
            say(f"outcome {c['gold'].get('outcome')} != walker {want}")
    return problems


def main() -> int:
    fill = "--fill" in sys.argv
    files = sorted(SPLIT.glob("*.yaml"))
    allcases = []
    for path in files:
        cases = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        if fill:
            for c in cases:
                c["gold"]["outcome"] = walk_gold(c["maze"], c["gold"]["route"])
                c["maze"] = _Literal(c["maze"].strip() + "\n")
            path.write_text(
                yaml.safe_dump(cases, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8"
            )
        allcases.extend(cases)
    problems = check(allcases)
    for p in problems:
        print("PROBLEM", p)
    by_cond = Counter(c["condition"] for c in allcases)
    tags = Counter(t for c in allcases for t in c["phenomena"])
    long = sum(1 for c in allcases if c["condition"] == "collab" and len(c["messages"]) >= 8)
    ends = Counter(c["gold"]["outcome"]["end"] for c in allcases)
    print(f"{len(allcases)} cases in {len(files)} files; by condition {dict(by_cond)}; long collabs {long}")
    print("ends", dict(ends), "successes", sum(c["gold"]["outcome"]["success"] for c in allcases))
    print("tags", dict(sorted(tags.items())))
    print("unused tags", sorted(TAGS - set(tags)))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
