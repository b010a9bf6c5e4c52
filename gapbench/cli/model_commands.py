"""`gapbench models list / show / prepare`."""

from __future__ import annotations

import argparse


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
    from gapbench.engines.registry import options_text

    spec = registry.load_spec(args.name)
    card = spec.model_dump(mode="json", exclude_defaults=True)
    card.update(registry.derived_relations(spec.name, registry.registry()))
    card["prepared_path"] = str(registry.prepared_path(spec)) if spec.source.gguf else None
    print(yaml.safe_dump(card, sort_keys=False, width=100, allow_unicode=True))
    print(options_text(spec.engine.backend, spec.engine.options))


def _cmd_models_engines(args: argparse.Namespace) -> None:
    from gapbench.engines.registry import backend_names, options_markdown, options_text

    print(options_markdown() if args.markdown else "\n\n".join(options_text(n) for n in backend_names()))


def _cmd_models_prepare(args: argparse.Namespace) -> None:
    from gapbench import registry

    print(registry.prepare(registry.load_spec(args.name), args.cache_dir))


def add_models(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "models",
        help="list, inspect and prepare registry models; list engine options",
        description="The model registry (models/*.yaml, or $GAPBENCH_MODELS) and the engine backends' options.",
    )
    msub = p.add_subparsers(dest="models_command", required=True, help="`--help` after one explains it")
    ls = msub.add_parser(
        "list",
        help="one line per model card in models/",
        description="One line per model card: name, family, size, source, engine backend and teachers.",
    )
    ls.set_defaults(func=_cmd_models_list)
    e = msub.add_parser(
        "engines",
        help="every engine backend and its options (type, default, meaning)",
        description=(
            "List the engine backends (built-in, registered with gapbench.register_engine, or installed "
            "through the gapbench.engines entry points) and the options a study may give each under "
            "`options:`. The options are checked against these before anything runs."
        ),
    )
    e.add_argument(
        "--markdown", action="store_true", help="the README's table of the built-in backends' options"
    )
    e.set_defaults(func=_cmd_models_engines)
    s = msub.add_parser(
        "show",
        help="print a model card with its relations, then its engine's options",
        description=(
            "Print a model card (with the relations derived from the other cards), then its engine "
            "backend's options with the card's own values filled in."
        ),
    )
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
