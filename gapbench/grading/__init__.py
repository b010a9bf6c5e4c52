"""Grading: extract a route from a transcript, normalise it under every scheme, walk the maze."""

from gapbench.grading.routes import ALL_SCHEMES, Scheme, Step, interpret, parse_route, render_route
from gapbench.grading.validate import Grade, Outcome, grade, walk

__all__ = [
    "ALL_SCHEMES", "Grade", "Outcome", "Scheme", "Step", "grade", "interpret", "parse_route",
    "render_route", "walk",
]  # fmt: skip
