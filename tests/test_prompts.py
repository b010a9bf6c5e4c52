"""Prompt fidelity: v1 stays byte-identical."""

from __future__ import annotations

import pytest
from prompt_goldens import CONDITIONS, GOLDEN_DIR, chats_text

from gapbench.protocol import load_templates


@pytest.mark.parametrize("condition", CONDITIONS)
def test_v1_renders_byte_identically_to_before_v2(condition):
    golden = (GOLDEN_DIR / f"v1-{condition}.txt").read_text(encoding="utf-8")
    assert chats_text(condition, templates=load_templates("v1")) == golden
