"""Build the held-out split: hand-written sources (*.yml here) + generated cases -> ../*.yaml.

Source cases name their maze as [size, seed] (optionally [size, seed, [r, c]] for the start); the
build renders it with gapbench's generator, alternates speakers, and computes every outcome with
the independent walker in tests/grading_corpus.py. Run: python build.py
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
OUT = HERE.parent
TESTS = HERE.parents[3]
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(HERE))

from grading_corpus import load_cases, walk_gold  # noqa: E402
from mazes import maze_for  # noqa: E402
from gapbench.maze import parse_maze  # noqa: E402

CONDITIONS = ("collab", "solo_full", "solo_distributed")


def vocabulary() -> set[str]:
    text = (OUT.parent / "README.md").read_text(encoding="utf-8")
    block = text.split("## Phenomena (tags)", 1)[1].strip().split("\n\n", 1)[0]
    return {t.strip().rstrip(".") for t in re.split(r"[,\s]+", block) if t.strip().rstrip(".")}


def render_maze(spec: list) -> str:
    size, seed = spec[0], spec[1]
    start = tuple(spec[2]) if len(spec) > 2 else (0, 0)
    return maze_for(size, seed, start).render(spaced=False) + "\n"


def finish(src: dict) -> dict:
    condition = src.get("condition", "collab")
    maze = render_maze(src["maze"]) if isinstance(src["maze"], list) else src["maze"]
    msgs = src["msgs"]
    if condition == "collab":
        speakers = ["agent_1" if i % 2 == 0 else "agent_2" for i in range(len(msgs))]
    else:
        assert len(msgs) == 2, f"{src['id']}: solo cases hold two answers"
        speakers = ["agent_1", "agent_1"]
    route = src["route"]
    return {
        "id": src["id"],
        "condition": condition,
        "phenomena": list(src["tags"]),
        "note": " ".join(src["note"].split()),
        "maze": maze,
        "messages": [{"speaker": s, "text": t.rstrip("\n") if isinstance(t, str) else t} for s, t in zip(speakers, msgs)],
        "gold": {"route": route, "outcome": walk_gold(maze, route)},
    }


class Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _list(dumper: yaml.SafeDumper, value: list):
    flow = all(isinstance(v, (str, int)) for v in value) or all(isinstance(v, list) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow and len(value) > 0)


Dumper.add_representer(str, _str)
Dumper.add_representer(list, _list)


def write(name: str, cases: list[dict]) -> None:
    text = yaml.dump(cases, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=100)
    (OUT / name).write_text(text, encoding="utf-8")


def main() -> None:
    import generate

    outputs: dict[str, list[dict]] = {}
    for src_path in sorted(HERE.glob("*.yml")):
        srcs = yaml.safe_load(src_path.read_text(encoding="utf-8")) or []
        outputs[src_path.stem + ".yaml"] = [finish(s) for s in srcs]
    for name, srcs in generate.all_cases().items():
        outputs[name] = [finish(s) for s in srcs]
    for name, cases in outputs.items():
        write(name, cases)
    validate(outputs, vocabulary())


def validate(outputs: dict[str, list[dict]], vocab: set[str]) -> None:
    cases = load_cases("heldout")
    ids = [c["id"] for c in cases]
    dup = [i for i, n in Counter(ids).items() if n > 1]
    assert not dup, f"duplicate ids {dup}"
    assert sum(len(v) for v in outputs.values()) == len(cases), "stray yaml files in heldout/"
    for c in cases:
        assert c["id"].startswith("ho-"), c["id"]
        assert c["condition"] in CONDITIONS, c["id"]
        parse_maze(c["maze"])
        assert c["gold"]["outcome"] == walk_gold(c["maze"], c["gold"]["route"]), c["id"]
        bad = set(c["phenomena"]) - vocab
        assert not bad, f"{c['id']}: unknown tags {bad}"
        n = len(c["maze"].split())
        assert 4 <= n <= 8, c["id"]
        if c["condition"] == "collab":
            assert 2 <= len(c["messages"]) <= 32, c["id"]
            for i, m in enumerate(c["messages"]):
                assert m["speaker"] == ("agent_1" if i % 2 == 0 else "agent_2"), c["id"]
        else:
            assert len(c["messages"]) == 2, c["id"]
    by_cond = Counter(c["condition"] for c in cases)
    by_tag = Counter(t for c in cases for t in c["phenomena"])
    by_end = Counter((c["condition"] == "collab", c["gold"]["outcome"]["end"]) for c in cases)
    print("cases", len(cases), dict(by_cond))
    print("ends", dict(by_end))
    print("success", sum(c["gold"]["outcome"]["success"] for c in cases))
    print("tags", dict(sorted(by_tag.items())))
    print("files", {k: len(v) for k, v in outputs.items()})


if __name__ == "__main__":
    main()
