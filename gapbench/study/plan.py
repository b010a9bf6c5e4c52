"""Plans: a study and its mazes in, the list of dialogue specs with stable ids out.

A spec's id hashes what the dialogue *is* (condition, seated models, maze, rollout, relay), never
its position in a list, so adding models or shards never reshuffles work and resumed runs skip
exactly what is done.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gapbench.mazeset import MazeItem, build_set, load_set
from gapbench.protocol.interventions import NONE, overlay_name
from gapbench.study.config import TALKING, GeneratedMazes, Study
from gapbench.transcript import Condition

Shard = tuple[int, int]  # (index, count)


@dataclass(frozen=True)
class DialogueSpec:
    id: str
    condition: str  # solo_full | solo_distributed | collab | relay_primer | relay_recovery
    maze_id: str
    seats: tuple[str, ...]  # model keys, agent_1 first
    rollout: int
    seed: int
    relay_k: int | None = None
    relay_after: tuple[str, ...] | None = None  # seats once relay_k turns exist
    base_id: str | None = None  # relay: the rollout whose first K turns it continues
    intervention: str = NONE  # the prompt overlay (as configured: a name or an overlay file's path)

    @property
    def seated(self) -> tuple[str, ...]:
        """Every model key it seats (relay: before and after the swap)."""
        return (*self.seats, *(self.relay_after or ()))

    @property
    def protocol_condition(self) -> Condition:
        """The protocol's condition: collab for every talking one (collab, referee, relay)."""
        solo: tuple[Condition, ...] = ("solo_full", "solo_distributed")
        return next((c for c in solo if c == self.condition), "collab")


def _spec(
    condition: str,
    maze_id: str,
    seats: tuple[str, ...],
    rollout: int,
    seed: int,
    intervention: str = NONE,
    **relay: Any,
) -> DialogueSpec:
    parts: list[Any] = [
        condition,
        maze_id,
        seats,
        rollout,
        seed,
        relay.get("relay_k"),
        relay.get("relay_after"),
    ]
    # Without an intervention the id is what it was before interventions existed (runs resume).
    key = json.dumps(parts if intervention == NONE else [*parts, overlay_name(intervention)])
    return DialogueSpec(
        hashlib.sha256(key.encode()).hexdigest()[:16],
        condition,
        maze_id,
        seats,
        rollout,
        seed,
        intervention=intervention,
        **relay,
    )


def plan(config: Study, maze_ids: list[str]) -> list[DialogueSpec]:
    """All dialogues of the study. Relay specs come after the base rollouts they branch from."""
    keys = list(config.models)
    if config.pairs == "homogeneous":
        pairs = [(k, k) for k in keys]
    elif config.pairs == "all_ordered":
        pairs = list(itertools.product(keys, keys))
    else:
        pairs = list(config.pairs)
    specs: list[DialogueSpec] = []
    by_key: dict[tuple, DialogueSpec] = {}
    for rollout, maze_id in itertools.product(range(config.rollouts), maze_ids):
        seed = config.seed
        for condition in ("solo_full", "solo_distributed"):
            if condition in config.conditions:
                specs += [_spec(condition, maze_id, (k,), rollout, seed) for k in keys]
        collab_pairs = list(pairs) if "collab" in config.conditions else []
        if "relay" in config.conditions and config.relay:
            s, w = config.relay.strong, config.relay.weak
            bases = {"primer": (s, w), "recovery": (w, w)}
            collab_pairs += [bases[m] for m in config.relay.modes if bases[m] not in collab_pairs]
        for seats in collab_pairs:
            spec = _spec("collab", maze_id, seats, rollout, seed)
            by_key[(seats, rollout, maze_id)] = spec
            specs.append(spec)
        for condition, intervention, seats in itertools.product(TALKING, config.interventions, pairs):
            if condition in config.conditions and (condition, intervention) != ("collab", NONE):
                specs.append(_spec(condition, maze_id, seats, rollout, seed, intervention))
    if "relay" in config.conditions and config.relay:
        s, w = config.relay.strong, config.relay.weak
        for rollout, maze_id in itertools.product(range(config.rollouts), maze_ids):
            for mode, k in itertools.product(config.relay.modes, config.relay.k):
                seats, after = ((s, w), (w, w)) if mode == "primer" else ((w, w), (s, w))
                base = by_key[(seats, rollout, maze_id)]
                specs.append(
                    _spec(
                        f"relay_{mode}",
                        maze_id,
                        seats,
                        rollout,
                        config.seed,
                        relay_k=k,
                        relay_after=after,
                        base_id=base.id,
                    )
                )
    return specs


MAX_DIALOGUES = 1_000_000  # a plan above this is a typo (rollouts: 1000000000), not a study


def load_mazes(config: Study, config_dir: Path) -> list[MazeItem]:
    """All mazes of the config's sources, in order; duplicates (same content id) are kept once.

    The plan's size is checked first, so a typo fails at once instead of generating forever.
    """
    sets = {
        i: load_set(Path(s.path) if Path(s.path).is_absolute() else config_dir / s.path)
        for i, s in enumerate(config.mazes)
        if not isinstance(s, GeneratedMazes)
    }
    count = sum(len(m.items) for m in sets.values()) + sum(
        s.count for s in config.mazes if isinstance(s, GeneratedMazes)
    )
    size = count * config.rollouts * len(plan(config.model_copy(update={"rollouts": 1}), ["one maze"]))
    if size > MAX_DIALOGUES:
        raise ValueError(
            f"rollouts/mazes: the plan would hold {size:,} dialogues ({count:,} mazes x {config.rollouts:,} rollouts), "
            f"above the cap of {MAX_DIALOGUES:,}; lower rollouts or the maze count, or split the study"
        )
    items: dict[str, MazeItem] = {}
    for i, source in enumerate(config.mazes):
        mazeset = (
            build_set(source.params(), count=source.count, seed=source.seed)
            if isinstance(source, GeneratedMazes)
            else sets[i]
        )
        for item in mazeset.items:
            items.setdefault(item.id, item)
    return list(items.values())


def select_shard(specs: list[DialogueSpec], shard: Shard) -> list[DialogueSpec]:
    """Specs of one shard, by stable id. Relay branches go with the rollout they continue."""
    index, count = shard
    if not (count >= 1 and 0 <= index < count):
        raise ValueError(f"shard {index}/{count} is out of range: use --shard i/N with 0 <= i < N")
    return [
        s
        for s in specs
        if int(hashlib.sha256((s.base_id or s.id).encode()).hexdigest()[:8], 16) % count == index
    ]


def describe_plan(config: Study, specs: list[DialogueSpec], mazes: list[MazeItem], done: int) -> str:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for s in specs:
        label = "+".join(s.seats) + (f" -> {'+'.join(s.relay_after)} @K={s.relay_k}" if s.relay_after else "")
        counts[
            (s.condition + ("" if s.intervention == NONE else f" + {overlay_name(s.intervention)}"), label)
        ] += 1
    sizes = sorted({m.maze.size for m in mazes})
    lines = [
        f"plan: {len(specs)} dialogues on {len(mazes)} mazes (sizes {', '.join(map(str, sizes))}), {done} already done",
        "",
    ]
    lines.append(f"{'condition':<34} {'models':<40} {'dialogues':>9}")
    for (cond, label), n in sorted(counts.items()):
        lines.append(f"{cond:<34} {label:<40} {n:>9}")
    turns = {"solo_full": 2, "solo_distributed": 2}
    max_gen = (
        sum(turns.get(s.condition, config.max_turns - (s.relay_k or 0)) for s in specs)
        * config.sampling.max_tokens
    )
    # ~4 characters a token: the instructions plus one map, the text every dialogue starts from.
    templates = config.protocol.load()
    opening = len(templates.system) + len(templates.collab) + len(templates.legend)
    opening += sum(len(m.maze.render()) for m in mazes) // max(len(mazes), 1)
    lines += [
        "",
        f"tokens: at most {max_gen:,} generated (messages x max_tokens={config.sampling.max_tokens}); "
        f"each dialogue's prompts start near {opening // 4} tokens and grow by its messages",
        f"grader: {config.grader if config.grader == 'rule' else config.grader.model}",
    ]
    return "\n".join(lines)
