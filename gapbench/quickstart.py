"""What the embedded quickstart's numbers mean, said after it runs (`gapbench run` without a study).

Only for that study: its figures are a smoke test of the pipeline on a 135M model, not a
measurement, and a first-time user needs to hear that and where the real study is. Any other
study's figures are the measurement and speak for themselves.
"""

from __future__ import annotations

import os
from pathlib import Path

from gapbench._resources import shipped
from gapbench.engines.base import cached_fraction
from gapbench.results import DialogueRecord
from gapbench.study import DEFAULT_CONFIG

GPU_STUDY = shipped("examples") / "gpu-base-vs-distilled.yaml"  # the study's design at its sample sizes


def is_quickstart(config: Path) -> bool:
    return config.resolve() == DEFAULT_CONFIG.resolve()


def epilogue(records: list[DialogueRecord]) -> str:
    """Two lines: what the run exercised and why its scores sit near 0; the command for the real study."""
    turns = sum(len(r.transcript.agent_messages) for r in records)
    cached = cached_fraction(
        sum(r.tokens()["cached"] for r in records), sum(r.tokens()["prompt"] for r in records)
    )
    study = os.path.relpath(GPU_STUDY) if GPU_STUDY.is_relative_to(Path.cwd()) else str(GPU_STUDY)
    return (
        f"This exercised the whole pipeline: {len(records)} dialogues ({turns} messages, {cached:.0%} of "
        f"prompt tokens served from each dialogue's KV cache), every transcript graded by walking its route; "
        f"scores near 0 are what a 135M model gets (it rarely solves a maze even alone), not a collaboration gap.\n"
        f"To measure the gap, run the study's design on a GPU: gapbench run {study}"
    )
