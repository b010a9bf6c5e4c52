"""gapbench: measure the collaboration gap of language models on split mazes.

The public API, for scripts and notebooks (docs/API.md); everything else is internal::

    import gapbench
    run = gapbench.run("examples/scripted.yaml")
    frame = run.frame()  # one row per dialogue and grade

Importing gapbench is cheap: torch, transformers and pandas load only when used.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from gapbench.agents import register_agent
from gapbench.api import run
from gapbench.engines.base import ChatRequest, Completion, Engine
from gapbench.engines.registry import register_engine
from gapbench.frame import results_frame
from gapbench.results import read_results
from gapbench.runner import Run
from gapbench.study import Study

try:
    __version__ = version("gapbench")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "ChatRequest",
    "Completion",
    "Engine",
    "Run",
    "Study",
    "__version__",
    "read_results",
    "register_agent",
    "register_engine",
    "results_frame",
    "run",
]
