"""`gapbench plan-power`: the mazes and rollouts a study needs to detect a given difference, and their GPU time.

Comparisons: the collaboration gap, the ordering effect, the base-vs-distilled collapse and the relay
gain over two weak copies, each on the weighted outcome.

A comparison is tested on per-maze values whose variance is ``between + scale * within / rollouts``
(gapbench.stats.Components): maze-to-maze wobble of the true difference, plus the rollout noise of
each of the ``scale`` cells averaged over the maze's rollouts. A pilot run supplies both parts; the
normal-approximation sample size for a two-sided test, with Guenther's small-sample correction, then
gives the mazes. More rollouts shrink only the second part, so per dialogue spent, new mazes always
buy at least as much power; rollouts help only when mazes are scarce (``max_mazes``).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

from gapbench.results import DialogueRecord
from gapbench.stats import Difference
from gapbench.study import Study, plan

KINDS = ("gap", "ordering", "collapse", "relay")
SCALE = {
    "gap": 2.0,
    "ordering": 2.0,
    "collapse": 4.0,
    "relay": 2.0,
}  # cells whose rollout noise adds up in the contrast
DEFAULT_BETWEEN = 0.04  # variance across mazes of a true difference (SD 0.2) on the weighted outcome
DEFAULT_WITHIN = 0.09  # variance of one dialogue around its maze's mean (SD 0.3)
MIN_MAZES = 6  # below this, no sign pattern reaches p < 0.05: the smallest two-sided p is 2 / 2**mazes
MAX_ROLLOUTS = 20


@dataclass(frozen=True)
class Variance:
    """The variance parts of one kind of comparison, and where they come from."""

    kind: str
    between: float  # with ``within`` None: the whole per-maze variance at one rollout per maze
    within: float | None  # None: the pilot had one rollout per maze, so the parts cannot be told apart
    source: str

    def per_maze(self, rollouts: int) -> float:
        if self.within is None:
            return self.between
        return self.between + SCALE[self.kind] * self.within / rollouts


@dataclass(frozen=True)
class Need:
    kind: str
    variance: Variance
    rollouts: int
    mazes: int | None  # None: no number of mazes within max_mazes reaches the power
    options: list[tuple[int, int]]  # (rollouts, mazes needed) for the rollouts the variance allows


def mazes_needed(variance: float, effect: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Mazes for a two-sided paired test of a mean difference ``effect`` with per-maze ``variance``."""
    if effect <= 0:
        raise ValueError(f"--effect must be positive, got {effect}")
    z = NormalDist()
    za, zb = z.inv_cdf(1 - alpha / 2), z.inv_cdf(power)
    return max(MIN_MAZES, math.ceil((za + zb) ** 2 * variance / effect**2 + za**2 / 2))


def need(
    variance: Variance,
    effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    max_mazes: int | None = None,
) -> Need:
    """Fewest dialogues per cell (mazes x rollouts) reaching ``power``, with at most ``max_mazes`` mazes."""
    counts = [1] if variance.within is None else list(range(1, MAX_ROLLOUTS + 1))
    options = [(n, mazes_needed(variance.per_maze(n), effect, alpha=alpha, power=power)) for n in counts]
    fits = [(n, m) for n, m in options if max_mazes is None or m <= max_mazes]
    shown = [o for o in options if o[0] in (1, 2, 3, 5, 10)]
    if not fits:
        return Need(variance.kind, variance, counts[-1], None, shown)
    n, m = min(fits, key=lambda o: (o[0] * o[1], o[0]))
    return Need(variance.kind, variance, n, m, shown)


def _hardest(kind: str, diffs: list[tuple[str, Difference]]) -> Variance | None:
    """The largest per-maze variance among the pilot's comparisons of one kind: plan for the hardest one."""
    usable = [(label, d) for label, d in diffs if d.mazes > 1 and not math.isnan(d.components.total)]
    if not usable:
        return None

    def at_one(d: Difference) -> float:
        c = d.components
        return c.total if c.within is None else (c.between or 0.0) + c.scale * c.within

    label, d = max(usable, key=lambda x: at_one(x[1]))
    c = d.components
    if c.within is None:  # one dialogue per maze and cell: the total is the variance at one rollout
        return Variance(kind, c.total, None, f"pilot: {label} ({d.mazes} mazes, one rollout each)")
    return Variance(
        kind, c.between or 0.0, c.within, f"pilot: {label} ({d.mazes} mazes, {c.rollouts:g} rollouts)"
    )


def pilot_variances(run_dirs: list[Path]) -> tuple[dict[str, Variance], PilotCost]:
    """Variance parts per kind of comparison from a pilot's report tables, and its cost per dialogue."""
    from gapbench.report import tables
    from gapbench.report.load import load_runs, registry_relations

    loaded = load_runs(run_dirs)
    links, _ = registry_relations()
    report = tables.build(loaded.entries, loaded.runs, links, {}, {})
    found: dict[str, list[tuple[str, Difference]]] = {k: [] for k in KINDS}
    for r in report.homogeneous:
        for name, gap in (("solo distributed", r.gap_distributed), ("solo full", r.gap_full)):
            if gap:
                found["gap"].append((f"{r.model} gap ({name} - collab)", gap.weighted))
    for o in report.ordering:
        if o.effect:
            found["ordering"].append((f"ordering {o.a} / {o.b}", o.effect.weighted))
    for rel in report.relations:
        if rel.collapse:
            found["collapse"].append((f"collapse {rel.source} -> {rel.derived}", rel.collapse))
    for curve in report.relay:
        for p in curve.points:
            for mode, gain in (("primer", p.primer_gain), ("recovery", p.recovery_gain)):
                if gain:
                    found["relay"].append((f"relay {mode} K={p.k} gain", gain.weighted))
    out = {k: v for k in KINDS if (v := _hardest(k, found[k])) is not None}
    if "collapse" not in out and "gap" in out:
        # collapse = gap of the derived model - gap of the source: two independent gaps
        g = out["gap"]
        out["collapse"] = Variance(
            "collapse", 2 * g.between, g.within, "derived from the pilot's gaps (two independent gaps)"
        )
    return out, pilot_cost(
        [e.record for e in loaded.entries], sorted({m for r in loaded.runs for m in r.models.values()})
    )


def default_variance(kind: str) -> Variance:
    return Variance(
        kind, DEFAULT_BETWEEN * (2 if kind == "collapse" else 1), DEFAULT_WITHIN, "default (no pilot)"
    )


@dataclass(frozen=True)
class PilotCost:
    """What a dialogue cost in the pilot: work units per dialogue by condition and units per busy second."""

    unit: str  # "tokens" (completion tokens) or "messages" when the pilot recorded no token counts
    per_dialogue: dict[str, float]  # condition -> mean units per dialogue
    overall: float  # mean units per dialogue, for conditions the pilot lacks
    rate: float  # units per second of the pilot's busy time
    busy: float  # seconds during which at least one dialogue was running
    models: list[str]


def _busy_seconds(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of the intervals: shards run one after another do not count their gaps."""
    total, end = 0.0, -math.inf
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def pilot_cost(records: list[DialogueRecord], models: list[str]) -> PilotCost:
    """Completion tokens (or, without token counts, agent messages) per dialogue and per busy second."""
    timed = [r for r in records if "started" in r.timings and "finished" in r.timings]
    if not timed:
        raise ValueError(
            "the pilot's records carry no timings (started/finished); rerun the pilot with this gapbench"
        )
    tokens = any(r.tokens()["completion"] for r in timed)

    def units(r: DialogueRecord) -> float:
        return float(r.tokens()["completion"]) if tokens else float(len(r.transcript.agent_messages))

    by: dict[str, list[float]] = {}
    for r in timed:
        by.setdefault(r.condition, []).append(units(r))
    busy = _busy_seconds([(r.timings["started"], r.timings["finished"]) for r in timed])
    total = sum(units(r) for r in timed)
    return PilotCost(
        unit="tokens" if tokens else "messages",
        per_dialogue={c: sum(v) / len(v) for c, v in by.items()},
        overall=total / len(timed),
        rate=total / busy if busy > 0 else math.inf,
        busy=busy,
        models=models,
    )


def planned_dialogues(config: Study, mazes: int, rollouts: int) -> Counter[str]:
    """Dialogues per condition the config plans with ``mazes`` mazes and ``rollouts`` rollouts."""
    sized = config.model_copy(update={"rollouts": rollouts})
    return Counter(s.condition for s in plan(sized, [f"maze-{i}" for i in range(mazes)]))


def gpu_seconds(dialogues: Counter[str], cost: PilotCost) -> float:
    return sum(n * cost.per_dialogue.get(c, cost.overall) for c, n in dialogues.items()) / cost.rate


def kinds_in(config: Study, relations: list[tuple[str, str, str]]) -> list[str]:
    """The comparisons a config's design makes: gap (solo and homogeneous pairs), ordering, collapse, relay gain."""
    keys = list(config.models)
    if config.pairs == "homogeneous":
        pairs = {(k, k) for k in keys}
    elif config.pairs == "all_ordered":
        pairs = {(a, b) for a in keys for b in keys}
    else:
        pairs = {(p[0], p[1]) for p in config.pairs}
    collab = "collab" in config.conditions
    solo = bool({"solo_full", "solo_distributed"} & set(config.conditions))
    kinds = []
    if solo and collab and any(a == b for a, b in pairs):
        kinds.append("gap")
    if collab and any(a != b and (b, a) in pairs for a, b in pairs):
        kinds.append("ordering")
    names = {config.entry(k).model for k in keys}
    if "gap" in kinds and any(s in names and d in names for s, d, _ in relations):
        kinds.append("collapse")
    if "relay" in config.conditions:
        kinds.append("relay")
    return kinds


def plan_power(
    config_path: Path,
    effect: float,
    *,
    pilot: list[Path] | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    max_mazes: int | None = None,
) -> str:
    """The text `gapbench plan-power` prints: per comparison the mazes and rollouts needed, the study's size and GPU time."""
    from gapbench.report.load import registry_relations
    from gapbench.study import load_config

    config, _ = load_config(config_path)
    kinds = kinds_in(config, registry_relations()[0])
    if not kinds:
        raise ValueError(
            f"{config_path} makes no gap, ordering, collapse or relay comparison (it needs solo and collab conditions, pairs in both orders or relay)"
        )
    variances, cost = pilot_variances(pilot) if pilot else ({}, None)
    needs = [
        need(variances.get(k) or default_variance(k), effect, alpha=alpha, power=power, max_mazes=max_mazes)
        for k in kinds
    ]
    lines = [
        f"plan-power {config_path}: a difference of {effect:g} in weighted outcome, {power:.0%} power, two-sided alpha {alpha:g} per comparison",
        f"variance from {'the pilot ' + ', '.join(str(p) for p in pilot) if pilot else 'stated defaults (give --pilot RUN_DIR for your models)'}",
        "",
        "variance of a comparison's per-maze value = between + cells x within / rollouts (between: how the true difference",
        "varies from maze to maze; within: one dialogue around its maze's mean; '-': the pilot had one rollout per maze)",
        "",
        f"{'comparison':<11} {'variance':>8} {'between':>8} {'within':>7} {'rollouts':>8} {'mazes':>6}  source",
    ]
    for n in needs:
        v = n.variance
        between, within = ("-", "-") if v.within is None else (f"{v.between:.3f}", f"{v.within:.3f}")
        lines.append(
            f"{n.kind:<11} {v.per_maze(n.rollouts):>8.3f} {between:>8} {within:>7} {n.rollouts:>8} {n.mazes if n.mazes else 'none':>6}  {v.source}"
        )
        if len(n.options) > 1:
            lines.append(" " * 12 + "mazes by rollouts: " + ", ".join(f"{r}: {m}" for r, m in n.options))
    short = [n for n in needs if n.mazes is None]
    if short:
        lines += [
            "",
            f"no size within --max-mazes {max_mazes} reaches {power:.0%} power for {', '.join(n.kind for n in short)}: "
            "the maze-to-maze variance alone needs more mazes; allow more mazes or look for a larger effect",
        ]
        return "\n".join(lines)
    biggest = max(needs, key=lambda n: (n.mazes or 0) * n.rollouts)
    dialogues = planned_dialogues(config, biggest.mazes or 0, biggest.rollouts)
    lines += [
        "",
        f"study: {biggest.mazes} mazes x {biggest.rollouts} rollout(s) (set the maze count and `rollouts: {biggest.rollouts}` in the config): "
        f"{sum(dialogues.values())} dialogues ({', '.join(f'{c} {k}' for c, k in sorted(dialogues.items()))})",
    ]
    if max_mazes is None and any(n.variance.within is not None for n in needs):
        lines.append(
            "one rollout per maze needs the fewest dialogues: extra rollouts only average out rollout noise; pass --max-mazes when mazes are scarce"
        )
    if cost is None:
        lines.append(
            "GPU time: unknown without a pilot (its tokens and throughput give it); run a small pilot and pass --pilot RUN_DIR"
        )
        return "\n".join(lines)
    seconds = gpu_seconds(dialogues, cost)
    lines.append(
        f"estimated GPU time: {seconds / 3600:.2f} GPU-hours ({seconds:.0f} s) at the pilot's {cost.rate:.1f} {cost.unit}/s "
        f"over {cost.busy:.0f} s busy, {cost.overall:.1f} {cost.unit} per dialogue"
    )
    models = sorted({config.entry(k).model for k in config.models})
    if cost.unit == "messages":
        lines.append(
            "the pilot recorded no token counts (scripted agents?): the time is scaled from its messages per second"
        )
    if set(models) != set(cost.models):
        lines.append(
            f"note: the pilot ran {', '.join(cost.models)}, the config runs {', '.join(models)}: the time holds only for the pilot's speed"
        )
    return "\n".join(lines)
