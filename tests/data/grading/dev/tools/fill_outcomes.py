"""Rewrite every `outcome:` line of the dev YAML files with walk_gold's result (run from the repo root).

The corpus labels only the route by hand; outcomes are always the independent walker's, so they can
never drift from it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
from tests.grading_corpus import walk_gold  # noqa: E402

DEV = Path(__file__).resolve().parents[1]
OUTCOME = re.compile(r"^( +)outcome:.*$", re.M)


def fill(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    cases = yaml.safe_load(text) or []
    outcomes = iter(walk_gold(case["maze"], case["gold"]["route"]) for case in cases)

    def render(match: re.Match) -> str:
        o = next(outcomes)
        return (f"{match.group(1)}outcome: {{success: {str(o['success']).lower()}, weighted: {o['weighted']}, "
                f"end: {o['end']}, final: [{o['final'][0]}, {o['final'][1]}]}}")

    new, count = OUTCOME.subn(render, text)
    if count != len(cases):
        raise SystemExit(f"{path.name}: {len(cases)} cases but {count} outcome lines; give each case one")
    path.write_text(new, encoding="utf-8")
    return count


if __name__ == "__main__":
    total = sum(fill(p) for p in sorted(DEV.glob("*.yaml")))
    print(f"filled {total} outcomes")
