"""Engine backends by name, each with its typed options: the built-ins, `register_engine`, and the
``gapbench.engines`` entry-point group.

A backend is a class (or function) called as ``factory(spec, **options)`` with a `ModelSpec` and
the options validated by its pydantic model, so a typo'd or out-of-range option stops at
``gapbench run --dry-run`` and never reaches a constructor. Built-in classes are imported only when
their engine is built: choosing transformers never imports vllm.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo

if TYPE_CHECKING:
    from gapbench.engines.base import Engine
    from gapbench.registry import ModelSpec

ENTRY_POINTS = "gapbench.engines"  # third-party backends: `name = "package.module:EngineClass"`
Dtype = Literal["auto", "bfloat16", "float16", "float32"]


class EngineOptions(BaseModel):
    """Base of the built-in backends' options: unknown keys and loose types are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NoOptions(EngineOptions):
    """A backend registered without an options model takes none."""


class TransformersOptions(EngineOptions):
    device: str | None = Field(None, description="cpu, cuda or cuda:N (default: cuda when available)")
    dtype: Dtype | None = Field(
        None, description="weights dtype (default: the card's; bf16 on CPU is fastest)"
    )
    batch_size: PositiveInt = Field(16, description="conversations per forward pass")
    reuse_cache: bool = Field(True, description="keep each conversation's KV cache between turns")
    cache_dir: str | None = Field(
        None, description="where converted GGUF weights live (default $GAPBENCH_CACHE)"
    )


class VLLMOptions(EngineOptions):
    cache_dir: str | None = Field(
        None, description="where converted GGUF weights live (default $GAPBENCH_CACHE)"
    )
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="share of the GPU in (0, 1], e.g. 0.45 each for a pair on one GPU"
    )
    kv_cache_memory_bytes: PositiveInt | None = Field(
        None, description="KV cache size in bytes, instead of gpu_memory_utilization"
    )
    max_model_len: PositiveInt | None = Field(None, description="context length (default: the card's)")
    tensor_parallel_size: PositiveInt = Field(1, description="GPUs one model is split over")
    block_size: PositiveInt | None = Field(None, description="tokens per KV block (default: vLLM's)")
    enforce_eager: bool = Field(False, description="no CUDA graphs (faster start, slower steps)")
    dtype: Dtype | None = Field(None, description="weights dtype (default: the card's)")
    seed: int = Field(0, description="vLLM's engine seed (requests carry their own)")

    @model_validator(mode="after")
    def _one_memory_knob(self) -> VLLMOptions:
        if self.gpu_memory_utilization is not None and self.kv_cache_memory_bytes is not None:
            raise ValueError(
                "give gpu_memory_utilization or kv_cache_memory_bytes, not both (vLLM ignores the share then)"
            )
        return self


class OpenAIOptions(EngineOptions):
    base_url: str = Field(
        "http://127.0.0.1:8000/v1", pattern=r"^https?://", description="the server's OpenAI-compatible API"
    )
    model: str | None = Field(
        None, description="the name the server knows the model by (default: the card's)"
    )
    api_key_env: str | None = Field(None, description="name of the environment variable holding the key")
    max_concurrency: PositiveInt = Field(16, description="requests in flight")
    timeout_s: PositiveFloat = Field(600.0, description="seconds per request")
    connect_timeout_s: PositiveFloat = Field(10.0, description="seconds to connect")
    max_retries: NonNegativeInt = Field(5, description="retries on 429, 5xx and timeouts")
    backoff_s: NonNegativeFloat = Field(1.0, description="first retry delay, doubled each retry")
    max_backoff_s: NonNegativeFloat = Field(60.0, description="longest retry delay")

    @model_validator(mode="after")
    def _backoff_order(self) -> OpenAIOptions:
        if self.max_backoff_s < self.backoff_s:
            raise ValueError(f"max_backoff_s ({self.max_backoff_s}) is below backoff_s ({self.backoff_s})")
        return self


@dataclass(frozen=True)
class Backend:
    name: str
    factory: Callable[..., Engine] | str  # or "module:attribute", imported when first built
    options: type[BaseModel]
    summary: str = ""

    def load(self) -> Callable[..., Engine]:
        if isinstance(self.factory, str):
            module, attribute = self.factory.split(":")
            factory: Callable[..., Engine] = getattr(importlib.import_module(module), attribute)
            return factory
        return self.factory


_BACKENDS: dict[str, Backend] = {}
F = TypeVar("F", bound=Callable[..., Any])


def add_backend(
    name: str,
    factory: Callable[..., Engine] | str,
    options: type[BaseModel] = NoOptions,
    summary: str = "",
) -> None:
    """Register ``factory`` under ``name`` (replacing an earlier one of that name); ``summary``
    defaults to the first line of its docstring."""
    if not name or ":" in name or name == "scripted":
        raise ValueError(f"engine name {name!r}: give a plain name such as 'mylab' ('scripted' is taken)")
    if (
        not (isinstance(options, type) and issubclass(options, BaseModel))
        or options.model_config.get("extra") != "forbid"
    ):
        raise TypeError(
            f"engine {name!r}: options must be a pydantic model with model_config = ConfigDict(extra='forbid'), "
            "so a typo'd option is refused"
        )
    if not summary and not isinstance(factory, str):
        summary = (factory.__doc__ or "").strip().split("\n")[0]
    _BACKENDS[name] = Backend(name, factory, options, summary)


def register_engine(
    name: str, *, options: type[BaseModel] = NoOptions, summary: str = ""
) -> Callable[[F], F]:
    """Decorator: ``@register_engine("mylab", options=MyOptions)`` on an engine class called as
    ``cls(spec, **options)`` with the `ModelSpec` and every field of ``MyOptions`` (a pydantic model
    with ``extra="forbid"``) validated; studies then say ``engine: mylab``. See docs/API.md."""

    def register(factory: F) -> F:
        add_backend(name, factory, options, summary)
        return factory

    return register


add_backend(
    "transformers", "gapbench.engines.hf:TransformersEngine", TransformersOptions, "CPU and single-GPU runs"
)
add_backend(
    "vllm",
    "gapbench.engines.vllm:VLLMEngine",
    VLLMOptions,
    "GPU studies at scale; pip install gapbench[vllm]",
)
add_backend("openai", "gapbench.engines.openai:OpenAIEngine", OpenAIOptions, "any OpenAI-compatible server")


def backend_names() -> list[str]:
    """Registered backends and those installed packages declare, without importing them."""
    return list(dict.fromkeys([*_BACKENDS, *(ep.name for ep in entry_points(group=ENTRY_POINTS))]))


def backend(name: str) -> Backend:
    """The backend called ``name``; an installed package's entry point is loaded on first use."""
    if name not in _BACKENDS:
        found = [ep for ep in entry_points(group=ENTRY_POINTS) if ep.name == name]
        if not found:
            raise ValueError(f"unknown engine backend {name!r}; expected one of {', '.join(backend_names())}")
        loaded = found[0].load()  # the module may register itself with @register_engine
        if name not in _BACKENDS:
            add_backend(name, loaded, getattr(loaded, "Options", NoOptions))
    return _BACKENDS[name]


def check_options(name: str, options: dict[str, Any]) -> BaseModel:
    """``options`` validated by the backend's model; ValueError names the option and the allowed ones."""
    model = backend(name).options
    try:
        return model.model_validate(options)
    except ValidationError as exc:
        err = exc.errors()[0]
        allowed = ", ".join(model.model_fields) or "none"
        if not err["loc"]:
            raise ValueError(f"{name} engine options: {err['msg'].removeprefix('Value error, ')}") from None
        option = str(err["loc"][0])
        if err["type"] == "extra_forbidden":
            raise ValueError(f"unknown {name} engine option {option!r}; allowed: {allowed}") from None
        raise ValueError(
            f"{name} engine option {option!r}: {err['msg'].lower()} (got {err.get('input')!r})"
        ) from None


def engine_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options given, checked (see `check_options`) and in their validated types."""
    return check_options(name, options).model_dump(exclude_unset=True)


def build_engine(spec: ModelSpec, **options: Any) -> Engine:
    """The engine for a model card: its ``engine.backend`` unless ``backend=`` overrides it, with
    ``options`` over the card's ``engine.options`` (those only apply to the card's own backend).
    The factory gets every option of the validated model, defaults included."""
    name = options.pop("backend", spec.engine.backend)
    card = spec.engine.options if name == spec.engine.backend else {}
    checked = check_options(name, {**card, **options})
    return backend(name).load()(spec, **checked.model_dump())


_BOUNDS = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _bounds(metadata: Iterable[Any]) -> list[str]:
    """Constraints as text; a nested ``Field(...)`` holds its own in ``.metadata``."""
    flat = [c for m in metadata for c in (m.metadata if isinstance(m, FieldInfo) else [m])]
    return [f"{sign} {getattr(m, k)}" for m in flat for k, sign in _BOUNDS.items() if hasattr(m, k)]


def _describe(annotation: Any, metadata: Iterable[Any] = ()) -> str:
    """A field's type in words: ``int > 0 or none``, ``auto / bfloat16 / ...``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _describe(args[0], args[1:])
    if origin in (Union, UnionType):
        return " or ".join(_describe(a) for a in args)
    text = (
        " / ".join(map(str, args))
        if origin is Literal
        else "none"
        if annotation is type(None)
        else annotation.__name__
    )
    bounds = _bounds(metadata)
    return f"{text} {', '.join(bounds)}" if bounds else text


def options_rows(name: str) -> list[tuple[str, str, str, str]]:
    """(option, type, default, description) of a backend, from its options model."""
    return [
        (option, _describe(info.annotation, info.metadata), repr(info.default), info.description or "")
        for option, info in backend(name).options.model_fields.items()
    ]


def options_text(name: str, given: dict[str, Any] | None = None) -> str:
    """A backend's options as aligned lines: option, type, value (``given`` over the defaults), meaning."""
    given = given or {}
    rows = [(o, kind, repr(given[o]) if o in given else d, text) for o, kind, d, text in options_rows(name)]
    if not rows:
        return f"{name}: no options"
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{name}: {backend(name).summary.rstrip('.') or 'no summary'}; options:"]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    return "\n".join(lines)


def options_markdown() -> str:
    """The README's engine options table, generated from the option models (built-ins only)."""
    lines = ["| engine | option | type | default | meaning |", "|---|---|---|---|---|"]
    for name in ("transformers", "vllm", "openai"):
        for option, kind, default, description in options_rows(name):
            lines.append(f"| `{name}` | `{option}` | {kind} | `{default}` | {description} |")
    return "\n".join(lines)
