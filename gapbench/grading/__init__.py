"""Grading: transcript -> dialogue acts -> executed route -> coherent scheme -> walk on the full maze.

``grade_transcript`` is the entry point; docs/GRADING.md states the semantics.
"""

from gapbench.grading.extract import Extraction, extract_rule
from gapbench.grading.record import GradeRecord, grade_transcript
from gapbench.grading.routes import parse_route
from gapbench.grading.schemes import ALL_SCHEMES, Scheme, Step, interpret, render_route
from gapbench.grading.validate import Grade, Outcome, grade, grade_extraction, walk

__all__ = [
    "ALL_SCHEMES",
    "Extraction",
    "Grade",
    "GradeRecord",
    "Outcome",
    "Scheme",
    "Step",
    "extract_rule",
    "grade",
    "grade_extraction",
    "grade_transcript",
    "interpret",
    "parse_route",
    "render_route",
    "walk",
]
