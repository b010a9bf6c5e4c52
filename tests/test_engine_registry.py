"""Engine backends and scripted agents by name: typed options, register_engine / register_agent, and
the entry-point groups a lab's package uses (a real dist-info on sys.path, run in a subprocess)."""

import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from gapbench.agents import parse_scripted
from gapbench.engines.registry import (
    EngineOptions,
    backend,
    backend_names,
    build_engine,
    check_options,
    engine_options,
    options_markdown,
    register_engine,
)

GAPBENCH = [sys.executable, "-m", "gapbench.cli"]
ROOT = Path(__file__).resolve().parent.parent
SMOL = "smollm2-135m-instruct"


def study(tmp_path: Path, models: dict, **overrides) -> Path:
    config = {
        "name": "t",
        "output_dir": str(tmp_path / "run"),
        "models": models,
        "mazes": [{"size": 4, "count": 3, "seed": 0}],
        "conditions": ["collab"],
        "max_turns": 12,
        **overrides,
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def gapbench(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*GAPBENCH, *args], capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


@pytest.mark.parametrize("name", ["transformers", "vllm", "openai"])
def test_the_option_models_declare_every_constructor_option_with_its_default(name):
    """The models are the one place options are declared: a constructor option they miss could
    never be set, a default that differs would silently win over the constructor's."""
    factory = backend(name).load()
    params = {
        p.name: p.default
        for p in inspect.signature(factory).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    fields = backend(name).options.model_fields
    assert {o: f.default for o, f in fields.items()} == params
    assert all(f.description for f in fields.values())


def test_options_are_typed_and_constrained():
    assert check_options("vllm", {"gpu_memory_utilization": 1}).gpu_memory_utilization == 1.0
    for options, message in [
        ({"gpu_memory_utilization": 0}, "'gpu_memory_utilization': input should be greater than 0"),
        (
            {"gpu_memory_utilization": 1.2},
            "'gpu_memory_utilization': input should be less than or equal to 1",
        ),
        ({"dtype": "fp8"}, "'dtype': input should be 'auto', 'bfloat16', 'float16' or 'float32'"),
        ({"tensor_parallel_size": True}, "'tensor_parallel_size': input should be a valid integer"),
        ({"gpu_memory_utilization": 0.5, "kv_cache_memory_bytes": 2**30}, "not both"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            check_options("vllm", options)
    with pytest.raises(ValueError, match="'base_url': string should match pattern"):
        check_options("openai", {"base_url": "localhost:8000"})
    with pytest.raises(
        ValueError, match=r"unknown transformers engine option 'batchsize'; allowed: device, dtype"
    ):
        engine_options("transformers", {"batchsize": 4})
    assert engine_options("transformers", {"batch_size": 4}) == {"batch_size": 4}  # only what was given


def test_the_readme_table_is_generated_from_the_option_models():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = re.search(r"<!-- engine-options:begin -->\n(.*?)\n<!-- engine-options:end -->", readme, re.DOTALL)
    assert table is not None
    assert table.group(1) == options_markdown(), "regenerate it: python scripts/engine_options_table.py"


def test_models_show_and_engines_print_the_options_from_the_same_models():
    shown = gapbench("models", "show", SMOL)
    assert shown.returncode == 0, shown.stderr
    assert "transformers: CPU and single-GPU runs; options:" in shown.stdout
    assert re.search(r"batch_size\s+int > 0\s+16\s+conversations per forward pass", shown.stdout)
    engines = gapbench("models", "engines")
    assert engines.returncode == 0, engines.stderr
    for name in ("transformers", "vllm", "openai"):
        for option in backend(name).options.model_fields:
            assert re.search(rf"^  {option}\s", engines.stdout.split(f"\n{name}: ")[-1], re.MULTILINE)
    markdown = gapbench("models", "engines", "--markdown")
    assert markdown.stdout.strip() == options_markdown()


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {"batchsize": 4},
            "models.smol.options: unknown transformers engine option 'batchsize'; "
            "allowed: device, dtype, batch_size, reuse_cache, cache_dir",
        ),
        (
            {"batch_size": 0},
            "models.smol.options: transformers engine option 'batch_size': input should be greater than 0 (got 0)",
        ),
    ],
)
def test_a_bad_engine_option_fails_the_dry_run_in_one_line(tmp_path, options, message):
    proc = gapbench("run", str(study(tmp_path, {"smol": {"model": SMOL, "options": options}})), "--dry-run")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"gapbench run: error: {message}"]
    assert not (tmp_path / "run").exists()


def test_an_unknown_engine_name_fails_the_dry_run_naming_the_known_ones(tmp_path):
    proc = gapbench("run", str(study(tmp_path, {"smol": {"model": SMOL, "engine": "vlm"}})), "--dry-run")
    assert proc.returncode == 2
    assert (
        "models.smol.engine: Value error, unknown engine 'vlm'; expected one of transformers, vllm, openai, scripted"
        in proc.stderr
    )


def test_an_options_model_that_lets_typos_through_is_refused_at_registration():
    from pydantic import BaseModel

    class Loose(BaseModel):
        batch: int = 1

    with pytest.raises(TypeError, match="extra='forbid'"):

        @register_engine("loose", options=Loose)
        class LooseEngine:
            pass

    assert "loose" not in backend_names()


def test_build_engine_refuses_a_typo_before_the_constructor(tmp_path):
    from gapbench.registry import load_spec

    with pytest.raises(ValueError, match="unknown transformers engine option 'dtyp'"):
        build_engine(load_spec(SMOL), dtyp="float32")


def test_agents_take_their_arguments_from_the_name():
    assert parse_scripted("scripted:degraded:0.3").error_rate == 0.3
    with pytest.raises(ValueError, match=r"'scripted:oracle:1': scripted:oracle takes no arguments"):
        parse_scripted("scripted:oracle:1")
    with pytest.raises(ValueError, match=r"'scripted:degraded': scripted:degraded takes p"):
        parse_scripted("scripted:degraded")


def test_a_lab_package_plugs_in_an_engine_and_an_agent_through_entry_points(tmp_path):
    """A package installed beside gapbench declares `gapbench.engines` and `gapbench.agents` entry
    points; studies name them without any import, and nothing is imported until they are used."""
    site = tmp_path / "site"
    (site / "labpkg-1.0.dist-info").mkdir(parents=True)
    (site / "labpkg-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: labpkg\nVersion: 1.0\n"
    )
    (site / "labpkg-1.0.dist-info" / "entry_points.txt").write_text(
        "[gapbench.engines]\nlab = labpkg:LabEngine\n\n[gapbench.agents]\nlabagent = labpkg:lab_agent\n"
    )
    (site / "labpkg.py").write_text(
        textwrap.dedent(
            """
            from pathlib import Path
            from gapbench.agents import ScriptedAgent
            from gapbench.engines import Completion
            from gapbench.engines.registry import EngineOptions

            Path(__file__).with_name("imported").touch()

            class LabOptions(EngineOptions):
                rate: float = 0.0

            class LabEngine:
                '''A lab's own backend.'''

                Options = LabOptions

                def __init__(self, spec, *, rate):
                    self.name, self.agent = spec.name, ScriptedAgent(rate)

                def generate(self, requests):
                    return [Completion(r.conversation_id, self.agent.reply(r.messages, r.sampling.seed)) for r in requests]

                def end(self, conversation_id):
                    pass

                def close(self):
                    pass

            def lab_agent():
                return ScriptedAgent()
            """
        )
    )
    env = {"PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    listed = gapbench("models", "engines", env=env)
    assert "\nlab: A lab's own backend; options:\n  rate" in listed.stdout and (site / "imported").exists()
    (site / "imported").unlink()
    path = study(
        tmp_path, {"lab": {"model": SMOL, "engine": "lab"}, "agent": "scripted:labagent"}, pairs="homogeneous"
    )
    dry = gapbench("run", str(path), "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    bad = study(tmp_path, {"lab": {"model": SMOL, "engine": "lab", "options": {"rte": 0.1}}})
    refused = gapbench("run", str(bad), "--dry-run", env=env)
    assert "unknown lab engine option 'rte'; allowed: rate" in refused.stderr
    path = study(
        tmp_path, {"lab": {"model": SMOL, "engine": "lab"}, "agent": "scripted:labagent"}, pairs="homogeneous"
    )
    ran = gapbench("run", str(path), "--no-progress", env=env)
    assert ran.returncode == 0, ran.stderr
    assert re.search(r"lab\s+collab\s+3\s+1\.00", ran.stdout) and re.search(
        r"agent\s+collab\s+3\s+1\.00", ran.stdout
    )
    assert "lab" not in backend_names()  # the subprocess's package, not this process's
    assert issubclass(backend("transformers").options, EngineOptions)
