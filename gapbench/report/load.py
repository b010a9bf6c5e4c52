"""Read run directories into labelled dialogues, plus what the report needs beside them.

Models are labelled by the name their run's config gives them (a registry name, a path or a
scripted agent), not by the config's key, so the same model pools across runs that call it by
different keys, and model relations from the registry can be matched by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gapbench import rundir
from gapbench.mazeset import MazeItem
from gapbench.results import DialogueRecord, pair_name, read_results
from gapbench.study import DialogueSpec

RelationTriple = tuple[str, str, str]  # (source model, derived model, kind: distilled | fine-tuned)


@dataclass(frozen=True)
class Entry:
    """One dialogue with its models named."""

    record: DialogueRecord
    run: str  # the run's directory, as given
    models: tuple[str, ...]  # seated at the start, first speaker first
    after: tuple[str, ...] | None  # relay: seated once relay_k turns exist

    @property
    def pair(self) -> str:
        return pair_name(self.models)


@dataclass(frozen=True)
class RunSource:
    run_dir: str
    name: str
    results_hash: str
    records: int
    models: dict[str, str]  # config key -> label
    mazes: int  # mazes rebuilt for the transcript viewer
    maze_note: str | None  # why the mazes could not be rebuilt


@dataclass(frozen=True)
class Loaded:
    runs: list[RunSource]
    entries: list[Entry]
    mazes: dict[tuple[str, str], MazeItem]  # (run, maze id) -> maze
    plans: dict[
        str, list[DialogueSpec]
    ]  # run -> its planned dialogues, where run.json allows rebuilding them


def model_labels(info: rundir.RunInfo | None) -> dict[str, str]:
    """Config key -> model name, from run.json's config (a string or {model: ...})."""
    models = info.config.get("models") if info else None
    if not isinstance(models, dict):
        return {}
    return {
        str(key): value
        if isinstance(value, str)
        else str(value.get("model", key))
        if isinstance(value, dict)
        else str(value)
        for key, value in models.items()
    }


def _mazes(
    run_dir: Path, info: rundir.RunInfo | None
) -> tuple[dict[str, MazeItem], list[DialogueSpec] | None, str | None]:
    """The run's mazes and plan, rebuilt from its config; relative maze-set paths are relative to the original config."""
    from pydantic import ValidationError

    from gapbench.study import Study, load_mazes, plan

    if not info:
        return {}, None, f"{run_dir} has no run.json; the viewer shows dialogues without mazes"
    config_dir = Path(info.config_path).parent if info.config_path else run_dir
    try:
        config = Study.model_validate(info.config)
        mazes = {m.id: m for m in load_mazes(config, config_dir)}
        return mazes, plan(config, list(mazes)), None
    except (ValidationError, OSError, ValueError) as exc:
        return (
            {},
            None,
            f"cannot rebuild the mazes of {run_dir} ({str(exc).splitlines()[0]}); the viewer shows dialogues without mazes",
        )


def load_runs(run_dirs: list[Path]) -> Loaded:
    """All records of the given runs. A directory mixing configs or holding no records is an error;
    a run given twice (or two copies of one run) counts once."""
    if not run_dirs:
        raise ValueError("give at least one run directory")
    runs: list[RunSource] = []
    entries: list[Entry] = []
    mazes: dict[tuple[str, str], MazeItem] = {}
    plans: dict[str, list[DialogueSpec]] = {}
    seen: set[tuple[str, str]] = set()
    for run_dir in dict.fromkeys(Path(d).resolve() for d in run_dirs):
        if not run_dir.is_dir():
            raise FileNotFoundError(
                f"{run_dir} is not a directory; give run directories (the output_dir of `gapbench run`)"
            )
        records = read_results(run_dir)
        if not records:
            raise ValueError(
                f"{run_dir} holds no complete records; run `gapbench run CONFIG` (or let it finish) first"
            )
        info = rundir.read_info(run_dir)
        if info is not None:
            rundir.check_same_config(
                run_dir / rundir.RESULTS_DIR,
                info.results_hash,
                records[0].run_hash,
                "keep one run per directory",
            )
        labels = model_labels(info)
        name = str(run_dir)
        items, planned, note = _mazes(run_dir, info)
        mazes.update({(name, maze_id): item for maze_id, item in items.items()})
        fresh = 0
        for r in records:
            if (r.run_hash, r.dialogue_id) in seen:
                continue
            seen.add((r.run_hash, r.dialogue_id))
            fresh += 1
            after = tuple(labels.get(k, k) for k in r.relay_after) if r.relay_after else None
            entries.append(Entry(r, name, tuple(labels.get(k, k) for k in r.models), after))
        # else the plan rebuilt from run.json is not the records' one: completeness unknown
        if planned is not None and fresh and {r.dialogue_id for r in records} <= {d.id for d in planned}:
            plans[name] = planned
        runs.append(
            RunSource(
                run_dir=name,
                name=info.name if info else run_dir.name,
                results_hash=records[0].run_hash,
                records=fresh,
                models=labels,
                mazes=len(items),
                maze_note=note,
            )
        )
    return Loaded(runs, entries, mazes, plans)


def registry_relations() -> tuple[list[RelationTriple], str | None]:
    """(source, derived, kind) for every distilled_from / base_of link of the model cards."""
    from gapbench import registry

    try:
        specs = registry.registry()
    except (OSError, ValueError) as exc:
        return [], f"model registry unavailable ({exc})"
    relations: dict[RelationTriple, None] = {}
    for spec in specs.values():
        for teacher in spec.distilled_from:
            relations[(teacher, spec.name, "distilled")] = None
        for derived in spec.base_of:
            relations[(spec.name, derived, "fine-tuned")] = None
    return list(relations), None
