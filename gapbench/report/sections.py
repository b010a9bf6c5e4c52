"""The report's sections in reading order, rendered once for report.md and once for report.html."""

from __future__ import annotations

import dataclasses

from gapbench.report.diagnostics import diagnostic_sections
from gapbench.report.document import Section
from gapbench.report.outcomes import outcome_sections
from gapbench.report.tables import Report


def sections(report: Report, plots: dict[str, list[str]]) -> list[Section]:
    """All sections in reading order, tables without rows dropped; ``plots`` maps section keys to the
    PNGs drawn for them."""
    out = [*outcome_sections(report, plots), *diagnostic_sections(report, plots)]
    return [dataclasses.replace(s, tables=[t for t in s.tables if t.rows]) for s in out]
