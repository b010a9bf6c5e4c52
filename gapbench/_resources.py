"""Where the folders that sit at the top of the checkout (models/, examples/) are found.

In a checkout (or an editable install) they are beside the package; a wheel carries copies inside
the package (pyproject's force-include), so `pip install gapbench` works without a checkout.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped(folder: str) -> Path:
    """The checkout's ``folder`` if there is one, else the wheel's copy inside the package."""
    checkout = _PACKAGE.parent / folder
    return checkout if checkout.is_dir() else _PACKAGE / folder


def grading_corpus() -> Path:
    """The labelled grading corpus: the checkout's tests/data/grading, else the wheel's copy."""
    checkout = _PACKAGE.parent / "tests" / "data" / "grading"
    return checkout if checkout.is_dir() else _PACKAGE / "grading_corpus"
