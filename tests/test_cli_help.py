"""Every command's --help explains it: a description, and help for every argument."""

import argparse
import subprocess
import sys

from gapbench.cli import build_parser


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


def test_every_command_and_argument_has_help():
    found = list(commands(build_parser()))
    assert len(found) > 20
    for path, parser in found:
        assert parser.description, f"gapbench {' '.join(path)}: no description"
        for action in parser._actions:
            assert action.help, f"gapbench {' '.join(path)}: {action.dest} has no help"


def test_the_package_runs_as_a_module_and_as_the_gapbench_command():
    proc = subprocess.run(
        [sys.executable, "-m", "gapbench.cli", "run", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "--output-dir DIR" in proc.stdout
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "gapbench"]
    assert script.value == "gapbench.cli:main"
