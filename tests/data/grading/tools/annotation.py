"""Blind second annotation of corpus cases: measures how often two careful readers agree on a label.

A grader cannot be held to more agreement with the gold labels than a second careful reader has.
``export`` writes the cases without their labels, notes or tags, shuffled into shards for
independent annotators; ``compare`` scores the annotations against the gold with the corpus
walker (the same route-exact and outcome-exact definitions as ``gapbench grading check``) and
lists the disagreements for adjudication.

Usage (from the repository root)::

    python tests/data/grading/tools/annotation.py export --out DIR --shards 6 FILE.yaml ...
    python tests/data/grading/tools/annotation.py compare FILE.yaml ... --annotations A.yaml ...

An annotation file is a YAML list of ``{id: ..., route: [...] | null, note: ...}``, routes in the
corpus format (README.md, "Labels").
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / "tests"))
from grading_corpus import agreement  # noqa: E402


class _Dumper(yaml.SafeDumper):
    """Writes multi-line text (mazes, messages, replies) as literal blocks, as the corpus does, and
    short lists (routes) in flow style."""


_Dumper.add_representer(
    str,
    lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None),
)


_Dumper.add_representer(
    list,
    lambda d, v: d.represent_sequence(
        "tag:yaml.org,2002:seq", v, flow_style=not any(isinstance(x, dict) for x in v)
    ),
)


def dump_yaml(data: list[dict], path: Path) -> None:
    path.write_text(yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100), "utf-8")


def _cases(paths: list[Path]) -> list[dict]:
    return [case for path in paths for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []]


def export(paths: list[Path], *, out: Path, shards: int, seed: int) -> None:
    cases = _cases(paths)
    random.Random(seed).shuffle(cases)
    out.mkdir(parents=True, exist_ok=True)
    for k in range(shards):
        blind = [
            {"id": c["id"], "condition": c["condition"], "maze": c["maze"], "messages": c["messages"]}
            for c in cases[k::shards]
        ]
        dump_yaml(blind, out / f"shard_{k + 1}.yaml")
    print(f"{len(cases)} cases in {shards} shards under {out}")


def compare(paths: list[Path], annotations: list[Path], *, disagreements: Path | None) -> int:
    gold = {c["id"]: c for c in _cases(paths)}
    notes = {a["id"]: a for a in _cases(annotations)}
    missing = sorted(set(gold) - set(notes))
    unknown = sorted(set(notes) - set(gold))
    if unknown:
        print(f"annotations for unknown ids: {unknown}")
        return 1
    bad = [
        a["id"]
        for a in notes.values()
        if a.get("route") is not None
        and not all(
            s in ("up", "down", "left", "right") or (isinstance(s, list) and len(s) == 2) for s in a["route"]
        )
    ]
    if bad:
        print(f"annotations with steps that are neither a direction nor [row, col]: {bad}")
        return 1
    rows: dict[str, list[int]] = {}
    differ = []
    for cid, note in notes.items():
        case = gold[cid]
        route_ok, outcome_ok = agreement(case["maze"], case["gold"]["route"], note["route"])
        for key in ("all", case["condition"]):
            row = rows.setdefault(key, [0, 0, 0])
            row[0] += 1
            row[1] += route_ok
            row[2] += outcome_ok
        if not (route_ok and outcome_ok):
            differ.append(
                {
                    "id": cid,
                    "gold": case["gold"]["route"],
                    "second": note["route"],
                    "second_note": note.get("note", ""),
                }
            )
    print(f"{'':<18} {'n':>5} {'route=':>8} {'outcome=':>9}")
    for key, (n, r, o) in rows.items():
        print(f"{key:<18} {n:>5} {r / n:>8.1%} {o / n:>9.1%}")
    if missing:
        print(f"{len(missing)} cases not annotated")
    if disagreements:
        dump_yaml(differ, disagreements)
        print(f"{len(differ)} disagreements written to {disagreements}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write the cases without labels, shuffled into shards")
    ex.add_argument("files", nargs="+", type=Path, help="corpus YAML files")
    ex.add_argument("--out", type=Path, required=True, help="folder for shard_K.yaml")
    ex.add_argument("--shards", type=int, default=1, help="how many annotators (default 1)")
    ex.add_argument("--seed", type=int, default=0, help="shuffle seed (default 0)")
    co = sub.add_parser("compare", help="score annotations against the gold labels")
    co.add_argument("files", nargs="+", type=Path, help="corpus YAML files")
    co.add_argument("--annotations", nargs="+", type=Path, required=True, help="annotation YAML files")
    co.add_argument("--disagreements", type=Path, help="write the disagreeing cases here, for adjudication")
    args = parser.parse_args()
    if args.command == "export":
        export(args.files, out=args.out, shards=args.shards, seed=args.seed)
    else:
        raise SystemExit(compare(args.files, args.annotations, disagreements=args.disagreements))
