"""The `gapbench` command. Thin: parse arguments, call one library function per command.

Heavy imports (torch, transformers, vllm, datasets) happen inside the command functions so that
`gapbench --help` stays instant.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import traceback
from pathlib import Path


class UserError(Exception):
    """An error the user can fix; printed as one clear message, never as a traceback."""


EXIT_RETRY = 75  # EX_TEMPFAIL: some dialogues met a passing failure (server down); rerun to retry them


def _out_dir(text: str) -> str:
    """An --out directory: an empty string would silently mean the current directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError("--out needs a directory, e.g. --out report")
    return text


# ---------------------------------------------------------------------------------------- mazes
def _cmd_mazes_generate(args: argparse.Namespace) -> None:
    from gapbench import mazeset
    from gapbench.maze import MazeParams

    params = MazeParams(size=args.size, density=args.density, min_path=args.min_path, max_path=args.max_path)
    path = mazeset.generate_set(params, count=args.count, seed=args.seed, out=Path(args.out))
    print(f"wrote {args.count} mazes to {path}")


def _cmd_mazes_show(args: argparse.Namespace) -> None:
    from gapbench import mazeset

    print(mazeset.describe(mazeset.load_set(Path(args.dir)), index=args.index))


def _add_mazes(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mazes", help="generate and inspect maze sets")
    msub = p.add_subparsers(dest="mazes_command", required=True)
    g = msub.add_parser(
        "generate",
        help="write a maze set (a Hugging Face dataset in parquet) with both split views",
        description="Generate COUNT solvable mazes, deterministic from the parameters and --seed.",
    )
    g.add_argument("--size", type=int, default=6, help="grid side N (default 6, the study's main setting)")
    g.add_argument("--density", type=float, default=0.30, help="wall probability (default 0.30)")
    g.add_argument("--count", type=int, default=100, help="number of mazes (default 100)")
    g.add_argument("--seed", type=int, default=0, help="seed of the whole set (default 0)")
    g.add_argument("--min-path", type=int, default=None, help="shortest start-goal path at least this long")
    g.add_argument("--max-path", type=int, default=None, help="shortest start-goal path at most this long")
    g.add_argument("--out", required=True, help="output directory")
    g.set_defaults(func=_cmd_mazes_generate)
    s = msub.add_parser("show", help="print a maze of a set and both agents' views")
    s.add_argument("dir", help="a maze set directory written by `gapbench mazes generate`")
    s.add_argument("--index", type=int, default=0, help="which maze (default 0)")
    s.set_defaults(func=_cmd_mazes_show)


# ------------------------------------------------------------------------------------ run/export
def _parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard expects i/N (e.g. 0/4), got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise argparse.ArgumentTypeError(f"--shard {text}: need 0 <= i < N")
    return i, n


def _cmd_run(args: argparse.Namespace) -> int:
    from gapbench.experiment import DEFAULT_CONFIG
    from gapbench.results import read_results
    from gapbench.runner import Interrupted, run_experiment, summary_table

    config = Path(args.config) if args.config else DEFAULT_CONFIG
    try:
        result = run_experiment(
            config,
            shard=args.shard,
            new_run=args.new_run,
            dry_run=args.dry_run,
            retry_errors=args.retry_errors,
            progress=not args.no_progress,
        )
    except Interrupted as exc:
        print(f"gapbench run: {exc}", file=sys.stderr)
        raise SystemExit(143) from None
    if args.dry_run:
        return 0
    print(f"\nwrote {result.written} new records to {result.shard_file}")
    if result.throughput is not None and result.throughput.requests:
        print(
            f"generation: {result.throughput.completion_tokens} tokens in {result.throughput.elapsed:.0f} s, {result.throughput.postfix()}"
        )
    if result.written or result.skipped:
        print()
        print(summary_table(read_results(result.run_dir)))
    if result.deferred:
        print(
            f"gapbench run: {len(result.deferred)} dialogue(s) met a passing engine failure and were not recorded "
            f"(e.g. {result.deferred[0]}); rerun the same command to retry them",
            file=sys.stderr,
        )
        return EXIT_RETRY
    return 0


def _cmd_export(args: argparse.Namespace) -> None:
    from gapbench.results import export

    out = Path(args.out) if args.out else Path(args.run_dir) / "export"
    print(f"wrote {export(Path(args.run_dir), out)}")


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run a study (default: examples/quickstart.yaml); rerun the same command to resume",
        description=(
            "Run every dialogue a config plans, grade it and append one record per dialogue to the "
            "run's results. Interrupted runs resume where they stopped when the same command is rerun."
        ),
    )
    p.add_argument(
        "config", nargs="?", help="experiment YAML (default: the quickstart: SmolLM2 on CPU, 8 mazes)"
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (dialogues per condition, token estimate) and exit",
    )
    p.add_argument(
        "--shard",
        type=_parse_shard,
        default=(0, 1),
        metavar="i/N",
        help="run only shard i of N (SLURM arrays)",
    )
    p.add_argument(
        "--new-run", action="store_true", help="the config changed: move old results aside and start afresh"
    )
    p.add_argument(
        "--retry-errors",
        action="store_true",
        help="also redo dialogues recorded as errors (context overflow, refusals)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_run)
    e = sub.add_parser("export", help="write a run's records as a Hugging Face dataset (parquet)")
    e.add_argument("run_dir")
    e.add_argument("--out", type=_out_dir, help="output directory (default: RUN_DIR/export)")
    e.set_defaults(func=_cmd_export)


# -------------------------------------------------------------------------------------- grading
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


def _add_grading(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("grading", help="measure a grader against the labelled grading corpus")
    gsub = p.add_subparsers(dest="grading_command", required=True)
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
    r.add_argument("run_dir")
    _grader_arguments(r)
    r.set_defaults(func=_cmd_regrade)


# -------------------------------------------------------------------------------------- prompts
def _cmd_prompts_show(args: argparse.Namespace) -> None:
    from gapbench.experiment import DEFAULT_CONFIG
    from gapbench.prompts import show_prompts

    config = Path(args.config) if args.config else DEFAULT_CONFIG
    print(
        show_prompts(
            config,
            condition=args.condition,
            maze=args.maze,
            agent=args.agent,
            model=args.model,
            intervention=args.intervention,
        ),
        end="",
    )


def _add_prompts(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prompts", help="inspect what the agents of a study are given")
    psub = p.add_subparsers(dest="prompts_command", required=True)
    s = psub.add_parser(
        "show",
        help="print the exact chat each agent sees at its first turn (with --model: as the model's template renders it)",
        description=(
            "Print the chat each agent is given at its first turn, for the study's conditions on one of its mazes; "
            "agent 2's chat holds a stand-in for agent 1's first message. With --model, also the text and token "
            "count of that chat under the model's chat template, and the layout the model gets."
        ),
    )
    s.add_argument("config", nargs="?", help="experiment YAML (default: the quickstart)")
    s.add_argument(
        "--condition",
        choices=["solo_full", "solo_distributed", "collab", "referee"],
        help="one condition (default: the study's)",
    )
    s.add_argument(
        "--intervention",
        default="none",
        help="collaboration prompts under this intervention of the study (default: none)",
    )
    s.add_argument("--maze", type=int, default=0, metavar="I", help="which of the study's mazes (default 0)")
    s.add_argument("--agent", type=int, choices=[1, 2], help="one agent (default: both)")
    s.add_argument(
        "--model",
        metavar="NAME",
        help="a key of the study's models, or a registry name, card or model directory",
    )
    s.set_defaults(func=_cmd_prompts_show)


# --------------------------------------------------------------------------------------- report
def _cmd_report(args: argparse.Namespace) -> None:
    from gapbench.report import build_report

    path = build_report(
        [Path(d) for d in args.run_dirs],
        Path(args.out),
        per_group=args.per_group,
        complete_only=args.complete_only,
    )
    print(f"wrote {path.parent}/report.md, report.json, the plots and {path}")


def _add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="aggregate one or more runs into report.md, report.json, PNG plots and report.html",
        description=(
            "Aggregate runs: solo vs collaboration and the collaboration gap, heterogeneous pairs and ordering, "
            "relay, base vs distilled models, efficiency, grader agreement and coordinate schemes, beside the "
            "paper's published numbers. report.html is self-contained, with a transcript viewer."
        ),
    )
    p.add_argument(
        "run_dirs", nargs="+", metavar="RUN_DIR", help="run directories (the output_dir of `gapbench run`)"
    )
    p.add_argument("--out", type=_out_dir, required=True, help="output directory")
    p.add_argument(
        "--per-group",
        type=int,
        default=50,
        metavar="N",
        help="dialogues per run, condition, models and K embedded in the transcript viewer (default 50; 0: all)",
    )
    p.add_argument(
        "--complete-only",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="tables use only the mazes on which every planned cell finished, so a partial run compares balanced sets (default: on)",
    )
    p.set_defaults(func=_cmd_report)


# ----------------------------------------------------------------------------------- plan-power
def _cmd_plan_power(args: argparse.Namespace) -> None:
    from gapbench.power import plan_power

    if not 0 < args.effect < 2:
        raise UserError(
            f"--effect {args.effect}: give the smallest difference in weighted outcome worth detecting, e.g. 0.1"
        )
    if not (0 < args.alpha < 1 and 0 < args.power < 1):
        raise UserError(
            "--alpha and --power are probabilities between 0 and 1, e.g. --alpha 0.05 --power 0.8"
        )
    pilot = [Path(d) for d in args.pilot] if args.pilot else None
    print(
        plan_power(
            Path(args.config),
            args.effect,
            pilot=pilot,
            alpha=args.alpha,
            power=args.power,
            max_mazes=args.max_mazes,
        )
    )


def _add_plan_power(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan-power",
        help="mazes and rollouts needed to detect a gap, ordering effect, collapse or relay gain, and the GPU time",
        description=(
            "For each comparison the config's design makes (collaboration gap, ordering effect, base vs distilled "
            "collapse, relay gain over weak + weak): the mazes and rollouts a paired test needs to detect --effect with --power at --alpha, from "
            "a pilot run's maze-to-maze and rollout-to-rollout variance (stated defaults without one), and the GPU "
            "time of the whole study from the pilot's tokens and throughput. See docs/STATISTICS.md."
        ),
    )
    p.add_argument("config", help="experiment YAML of the planned study")
    p.add_argument(
        "--effect",
        type=float,
        required=True,
        help="smallest difference in weighted outcome worth detecting, e.g. 0.1",
    )
    p.add_argument(
        "--pilot",
        action="append",
        metavar="RUN_DIR",
        help="a pilot run directory (repeatable); its variance and speed are used",
    )
    p.add_argument("--power", type=float, default=0.8, help="chance to detect the effect (default 0.8)")
    p.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="two-sided level per comparison (default 0.05; Holm makes the report stricter)",
    )
    p.add_argument(
        "--max-mazes",
        type=int,
        metavar="N",
        help="mazes available (e.g. a fixed maze set): use more rollouts instead",
    )
    p.set_defaults(func=_cmd_plan_power)


# --------------------------------------------------------------------------------------- models
def _cmd_models_list(args: argparse.Namespace) -> None:
    from gapbench import registry

    specs = registry.registry()
    rows = [("NAME", "FAMILY", "PARAMS", "SOURCE", "BACKEND", "DISTILLED FROM")]
    for spec in specs.values():
        size = f"{spec.params_b:g}B" if spec.params_b else "-"
        teachers = ", ".join(spec.distilled_from) or "-"
        rows.append((spec.name, spec.family, size, spec.source.kind, spec.engine.backend, teachers))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])


def _cmd_models_show(args: argparse.Namespace) -> None:
    import yaml

    from gapbench import registry

    spec = registry.load_spec(args.name)
    card = spec.model_dump(mode="json", exclude_defaults=True)
    card.update(registry.derived_relations(spec.name, registry.registry()))
    card["prepared_path"] = str(registry.prepared_path(spec)) if spec.source.gguf else None
    print(yaml.safe_dump(card, sort_keys=False, width=100, allow_unicode=True), end="")


def _cmd_models_prepare(args: argparse.Namespace) -> None:
    from gapbench import registry

    print(registry.prepare(registry.load_spec(args.name), args.cache_dir))


def _add_models(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list, inspect and prepare registry models")
    msub = p.add_subparsers(dest="models_command", required=True)
    ls = msub.add_parser("list", help="one line per model card in models/")
    ls.set_defaults(func=_cmd_models_list)
    s = msub.add_parser("show", help="print a model card with its relations")
    s.add_argument("name", help="a registry name, a card file or a local model directory")
    s.set_defaults(func=_cmd_models_show)
    pr = msub.add_parser(
        "prepare",
        help="make a model loadable offline and print its directory",
        description=(
            "GGUF cards: join and verify the shipped file(s) and convert them once to a bf16 safetensors "
            "directory in the cache. Hub cards: download the snapshot into the Hugging Face cache "
            "(or find it there when HF_HUB_OFFLINE=1)."
        ),
    )
    pr.add_argument("name", help="a registry name, a card file or a local model directory")
    pr.add_argument(
        "--cache-dir", default=None, help="cache directory (default $GAPBENCH_CACHE or ~/.cache/gapbench)"
    )
    pr.set_defaults(func=_cmd_models_prepare)


# ---------------------------------------------------------------------------------- slurm/merge
def _cmd_slurm_submit(args: argparse.Namespace) -> None:
    from gapbench import slurm

    res = slurm.Resources(
        partition=args.partition,
        gpus_per_task=args.gpus_per_task,
        cpus_per_task=args.cpus_per_task,
        mem=args.mem,
        time=args.time,
        account=args.account,
        qos=args.qos,
        array_parallelism=args.array_parallelism,
        extra_sbatch=tuple(args.extra_sbatch),
        setup=tuple(args.setup),
    )
    slurm.submit(Path(args.config), args.shards, res, gapbench=args.gapbench, dry_run=args.dry_run)


def _cmd_slurm_status(args: argparse.Namespace) -> None:
    from gapbench import slurm

    run_dir = Path(args.run_dir)
    print(slurm.format_status(run_dir, *slurm.status(run_dir)))


def _cmd_slurm_resume(args: argparse.Namespace) -> None:
    from gapbench import slurm

    slurm.resume(Path(args.run_dir), extra_sbatch=tuple(args.extra_sbatch))


def _cmd_merge(args: argparse.Namespace) -> None:
    from gapbench.results import merge, shard_counts
    from gapbench.runner import select_shard
    from gapbench.slurm import run_plan

    run_dir = Path(args.run_dir)
    info, specs = run_plan(run_dir)
    report = merge(run_dir, [s.id for s in specs], info.results_hash)
    if report.unplanned:
        print(
            f"gapbench merge: warning: {report.unplanned} records are of dialogues the plan does not hold; left out",
            file=sys.stderr,
        )
    if report.path is not None:
        print(f"wrote {report.records} dialogues to {report.path}")
        return
    counts = shard_counts(run_dir) or [1]
    missing = set(report.missing)
    print(
        f"gapbench merge: {len(missing)} of {len(specs)} dialogues have no record yet; nothing written",
        file=sys.stderr,
    )
    for i in range(counts[-1]):
        ids = [s.id for s in select_shard(specs, (i, counts[-1])) if s.id in missing]
        if ids:
            print(f"  shard {i}/{counts[-1]}: {len(ids)} missing: {' '.join(ids)}", file=sys.stderr)
    hint = (
        "`gapbench slurm resume RUN_DIR`"
        if (run_dir / "slurm").is_dir()
        else "`gapbench run CONFIG --shard i/N`"
    )
    print(f"finish them with {hint}, then merge again", file=sys.stderr)
    raise SystemExit(1)


def _add_slurm(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "slurm",
        help="shard a study over a SLURM job array: submit, status, resume",
        description="One array task per shard runs `gapbench run CONFIG --shard i/N`; a chained job merges. See slurm/README.md.",
    )
    ssub = p.add_subparsers(dest="slurm_command", required=True)
    s = ssub.add_parser(
        "submit",
        help="submit one array task per shard and a merge job after them",
        description=(
            "Render the batch scripts into RUN_DIR/slurm/, submit the array (one task per shard, requeued "
            "with its progress kept when USR1 arrives 90 s before the time limit) and a merge job chained "
            "with --dependency=afterok. Logs go to RUN_DIR/slurm/logs/."
        ),
    )
    s.add_argument("config", help="experiment YAML")
    s.add_argument("--shards", type=int, required=True, metavar="N", help="number of shards = array tasks")
    s.add_argument("--partition", help="sbatch --partition")
    s.add_argument(
        "--gpus-per-task", type=int, metavar="G", help="GPUs per shard (e.g. 1, or the tensor-parallel size)"
    )
    s.add_argument("--cpus-per-task", type=int, metavar="C", help="CPU cores per shard")
    s.add_argument("--mem", help="memory per shard, e.g. 64G")
    s.add_argument("--time", help="time limit per shard, e.g. 4:00:00")
    s.add_argument("--account", help="sbatch --account")
    s.add_argument("--qos", help="sbatch --qos")
    s.add_argument("--array-parallelism", type=int, metavar="K", help="run at most K shards at once")
    s.add_argument(
        "--extra-sbatch",
        action="append",
        default=[],
        metavar="OPTION",
        help="another sbatch option, e.g. --constraint=a100 (repeatable)",
    )
    s.add_argument(
        "--setup",
        action="append",
        default=[],
        metavar="SHELL",
        help="shell line run before gapbench, e.g. 'module load cuda' (repeatable, not quoted)",
    )
    s.add_argument(
        "--gapbench", help="gapbench executable on the compute nodes (default: the one of this Python)"
    )
    s.add_argument("--dry-run", action="store_true", help="print the batch scripts and submit nothing")
    s.set_defaults(func=_cmd_slurm_submit)
    st = ssub.add_parser("status", help="per shard: pending, running, done or failed, and dialogues done")
    st.add_argument("run_dir", help="the study's output_dir")
    st.set_defaults(func=_cmd_slurm_status)
    r = ssub.add_parser(
        "resume", help="resubmit the unfinished shards (same N and script) and a new merge job"
    )
    r.add_argument("run_dir", help="the study's output_dir")
    r.add_argument(
        "--extra-sbatch",
        action="append",
        default=[],
        metavar="OPTION",
        help="override an sbatch option, e.g. --time=8:00:00 (repeatable)",
    )
    r.set_defaults(func=_cmd_slurm_resume)


def _add_merge(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser(
        "merge",
        help="merge a run's shards into RUN_DIR/merged.jsonl (one record per dialogue)",
        description=(
            "Deduplicate the shards on dialogue id and write every planned dialogue once, in plan order, to "
            "RUN_DIR/merged.jsonl (outside results/, so readers of the shards never count twice). Exits 1 and "
            "lists the missing dialogue ids by shard when any is missing."
        ),
    )
    m.add_argument("run_dir", help="the study's output_dir")
    m.set_defaults(func=_cmd_merge)


# ----------------------------------------------------------------------------------------- play
def _cmd_play(args: argparse.Namespace) -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UserError("the web game needs FastAPI and uvicorn: pip install 'gapbench[play]'") from None
    from gapbench.play.lab import PLAY_CONFIG, open_lab
    from gapbench.play.server import check_address, serve

    if not 0 < args.port < 65536:
        raise UserError(f"--port {args.port}: give a port between 1 and 65535, e.g. 8765")
    if args.max_chars < 1:
        raise UserError(f"--max-chars {args.max_chars}: give at least 1")
    check_address(args.host, args.port)
    lab = open_lab(
        Path(args.config) if args.config else PLAY_CONFIG,
        model=args.model,
        seat=args.seat,
        mazes=Path(args.mazes) if args.mazes else None,
        games=args.games,
        out=Path(args.out) if args.out else None,
        max_chars=args.max_chars,
        consent=Path(args.consent) if args.consent else None,
    )
    try:
        serve(lab, host=args.host, port=args.port)
    except KeyboardInterrupt:
        pass  # Ctrl+C: every finished game is already recorded
    finally:
        lab.close()
    print(f"gapbench play: stopped; the games are in {lab.run_dir}")


def _add_play(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "play",
        help="a person plays the maze game with a model in the browser; games are recorded and graded like runs",
        description=(
            "Serve the maze game on a local web page: a person takes one seat, MODEL the other (through its engine: "
            "transformers, vLLM, an OpenAI-compatible server or a scripted agent). Each participant gets a random id and "
            "plays the study's mazes in turn, seats balanced across mazes and participants. Every game is one graded "
            "record in RUN_DIR (condition collab, the person as human:<id>), read by `gapbench report`."
        ),
    )
    p.add_argument(
        "config",
        nargs="?",
        help="a study YAML whose mazes, protocol, turn limit and sampling are used (default: examples/play.yaml)",
    )
    p.add_argument(
        "--model",
        required=True,
        metavar="NAME",
        help="a key of the study's models, a registry name, or scripted:oracle",
    )
    p.add_argument(
        "--seat",
        choices=["first", "second"],
        help="the person always speaks first / second (default: balanced)",
    )
    p.add_argument(
        "--mazes",
        metavar="DIR",
        help="play this maze set (`gapbench mazes generate`) instead of the study's mazes",
    )
    p.add_argument(
        "--games", type=int, metavar="N", help="games per participant: the first N mazes (default: all)"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1; any other needs the printed token)",
    )
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument(
        "--out", metavar="RUN_DIR", help="run directory for the records (default: runs/play-<study name>)"
    )
    p.add_argument(
        "--consent",
        metavar="FILE",
        help="a text file shown before the first game (default: a short generic consent text)",
    )
    p.add_argument(
        "--max-chars",
        type=int,
        default=1000,
        metavar="N",
        help="longest message a person may send (default 1000)",
    )
    p.set_defaults(func=_cmd_play)


# ---------------------------------------------------------------------------------------- bench
def _cmd_bench(args: argparse.Namespace) -> None:
    from gapbench.bench import main_bench

    main_bench(args)


def _add_bench(sub: argparse._SubParsersAction) -> None:
    from gapbench.bench import add_arguments

    p = sub.add_parser(
        "bench",
        help="dialogue throughput: naive HF loop (a) vs the transformers engine (b) vs the vLLM engine (c)",
        description=(
            "Run one fixed dialogue workload (every reply forced to --max-tokens, greedy) against the naive "
            "baseline (a: one dialogue at a time, model.generate on the whole chat), gapbench's transformers "
            "engine (b: batched, KV reuse; b0: without reuse) and gapbench's vLLM engine (c), each in its own "
            "subprocess, and print dialogues per hour, tokens/s, cached vs prefilled prompt tokens and peak "
            "memory in one table. See docs/PERFORMANCE.md."
        ),
    )
    add_arguments(p)
    p.set_defaults(func=_cmd_bench)


# ---------------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gapbench",
        description=(
            "gapbench measures the collaboration gap: two copies of a language model each see half "
            "of a maze and must talk their way to the goal. Run a study with `gapbench run CONFIG`."
        ),
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (anywhere on the line)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_mazes(sub)
    _add_run(sub)
    _add_prompts(sub)
    _add_report(sub)
    _add_grading(sub)
    _add_plan_power(sub)
    _add_models(sub)
    _add_slurm(sub)
    _add_merge(sub)
    _add_bench(sub)
    _add_play(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from gapbench.engines.base import EngineError
    from gapbench.redact import redact_text

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(
        [a for a in argv if a != "--debug"]
    )  # --debug works anywhere on the line
    args.debug = "--debug" in argv
    logging.basicConfig(format="gapbench: %(levelname)s: %(message)s", level=logging.WARNING)
    try:
        code = args.func(args)
    except (UserError, ValueError, OSError, EngineError) as exc:
        # Library code raises these with messages written for the user (bad input, missing or
        # corrupt files, an unwritable or full disk, a server that refuses).
        if args.debug:
            traceback.print_exc()
        print(f"gapbench {args.command}: error: {redact_text(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
