"""`gapbench bench` on a tiny random model: the accounting, not the timings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gapbench.bench import Workload, driver
from gapbench.bench.runners import run_engine
from gapbench.cli import main


@pytest.fixture(scope="module")
def workload(tiny_model_dir: Path) -> Workload:
    # Three turns: agent_1 speaks twice, so its second prompt can come from the cache.
    return Workload(
        model=str(tiny_model_dir),
        dialogues=2,
        turns=3,
        max_tokens=4,
        dtype="float32",
        device="cpu",
        baseline_dialogues=None,
    )


def test_engines_do_equal_work_and_account_for_every_prompt_token(workload: Workload) -> None:
    runs = {key: run_engine(key, workload) for key in ("a", "b", "b0")}
    forced = workload.dialogues * workload.turns * workload.max_tokens
    for r in runs.values():
        assert r.error is None
        assert (r.dialogues, r.replies) == (2, 6)
        assert r.generated_tokens == forced
        assert r.cached_tokens + r.prefilled_tokens == r.prompt_tokens > 0
        assert r.seconds > 0
    assert runs["a"].cached_tokens == runs["b0"].cached_tokens == 0
    assert runs["b"].cached_tokens > 0
    # float32: reuse changes no token, so both runs sent exactly the same prompts
    assert runs["b"].prompt_tokens == runs["b0"].prompt_tokens
    bound = runs["b"].bound
    assert bound is not None and bound.batch == 2 and bound.tokens_per_s > 0


def test_cli_writes_table_and_json_and_names_a_missing_vllm(
    workload: Workload, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(driver.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(driver, "VLLM_VENV_PYTHON", tmp_path / "no-venv" / "python")
    out = tmp_path / "bench.json"
    argv = [
        "bench",
        "--model",
        workload.model,
        "--dialogues",
        "2",
        "--turns",
        "2",
        "--max-tokens",
        "3",
        "--dtype",
        "float32",
        "--device",
        "cpu",
        "--baseline-dialogues",
        "1",
        "--engines",
        "a,b,c",
        "--raw-vllm",
        "--json",
        str(out),
    ]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "(c) vLLM engine, prefix cache" in table and "not run: vLLM is not installed" in table
    assert "ran the first 1 of 2 dialogues" in table and "command: gapbench bench" in table
    report = json.loads(out.read_text())
    runs = {r["engine"]: r for r in report["runs"]}
    assert runs["c"]["error"] and runs["a"]["dialogues"] == 1 and runs["b"]["dialogues"] == 2
    assert "(c) did not run" in runs["c_raw"]["error"]  # (c_raw) replays (c)'s chats: none to replay
    assert (
        runs["a"]["generated_tokens"] * 2 == runs["b"]["generated_tokens"] == 2 * 2 * 3
    )  # per dialogue: equal
    assert runs["a"]["peak_rss_mib"] > 0 and runs["b"]["vs_a"] is not None
