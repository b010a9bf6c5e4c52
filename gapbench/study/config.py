"""The typed study: the settings of a YAML file (or a dict, or a `Study` built in Python), validated
with errors that name the field, what was expected and the fix."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from gapbench._resources import shipped
from gapbench.engines.registry import backend_names
from gapbench.maze import MazeParams
from gapbench.protocol import DEFAULT_TEMPLATES, Templates, configure, load_templates
from gapbench.protocol.interventions import NONE, apply, load_overlay, shipped_overlays
from gapbench.protocol.templates import shipped_versions

ConditionName = Literal["solo_full", "solo_distributed", "collab", "referee", "relay"]
TALKING = ("collab", "referee")  # conditions crossed with pairs and interventions
DEFAULT_CONFIG = shipped("examples") / "quickstart.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Whole numbers only: YAML's `true` is not a count, nor is 2.5.
Count = Annotated[int, Field(ge=1, strict=True)]


class ModelEntry(_Strict):
    model: str  # registry name, local path, or scripted:oracle / scripted:degraded:P
    engine: str | None = None  # a backend of gapbench.engines.registry, or scripted; default: the card's
    options: dict[str, Any] = Field(default_factory=dict)  # engine keyword options (dtype, batch_size, ...)

    @field_validator("engine")
    @classmethod
    def _known_engine(cls, v: str | None) -> str | None:
        names = [*backend_names(), "scripted"]
        if v is not None and v not in names:
            raise ValueError(f"unknown engine {v!r}; expected one of {', '.join(names)}")
        return v


class GeneratedMazes(_Strict):
    size: Annotated[int, Field(ge=2, le=64, strict=True)] = 6
    density: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.30
    count: Count = 100
    seed: Annotated[int, Field(strict=True)] = 0
    min_path: Count | None = None
    max_path: Count | None = None

    def params(self) -> MazeParams:
        return MazeParams(
            size=self.size, density=self.density, min_path=self.min_path, max_path=self.max_path
        )


class MazeSetPath(_Strict):
    path: str  # a directory written by `gapbench mazes generate`


def _maze_source(value: Any) -> str:
    """Which kind of maze source an entry is, so errors speak of that kind only."""
    return (
        "MazeSetPath"
        if isinstance(value, MazeSetPath) or (isinstance(value, dict) and "path" in value)
        else "GeneratedMazes"
    )


MazeSource = Annotated[
    Annotated[GeneratedMazes, Tag("GeneratedMazes")] | Annotated[MazeSetPath, Tag("MazeSetPath")],
    Discriminator(_maze_source),
]


class SamplingConfig(_Strict):
    temperature: Annotated[float, Field(ge=0.0)] = 0.0
    top_p: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    max_tokens: Count = 256  # per message; endless text is cut here


class RelayConfig(_Strict):
    strong: str  # model key
    weak: str
    k: Annotated[list[Count], Field(min_length=1)] = [2, 4, 6, 8]
    modes: Annotated[list[Literal["primer", "recovery"]], Field(min_length=1)] = ["primer", "recovery"]


class LLMGraderConfig(_Strict):
    model: str  # model key of `models`, or a registry name
    max_tokens: Annotated[int, Field(ge=64, strict=True)] = 1024


class ProtocolConfig(_Strict):
    """``protocol: v2`` is short for ``protocol: {templates: v2}``; unset options keep the templates' own."""

    templates: str = DEFAULT_TEMPLATES  # v2 | v1 | path/to/templates.yaml (relative to the study file)
    layout: Literal["separate", "merged"] | None = None  # v2: separate (merged where a template cannot)
    map_style: Literal["compact", "spaced"] | None = None  # v2: compact, as in the study
    map_labels: bool | None = None  # row and column numbers; v2: none

    @field_validator("templates")
    @classmethod
    def _known_templates(cls, v: str) -> str:
        if v not in shipped_versions() and not v.endswith((".yaml", ".yml")):
            raise ValueError(
                f"unknown templates {v!r}; use {', '.join(shipped_versions())} or the path of a .yaml templates file"
            )
        return v

    def load(self) -> Templates:
        return configure(
            load_templates(self.templates),
            layout=self.layout,
            map_style=self.map_style,
            map_labels=self.map_labels,
        )


class Study(_Strict):
    name: str = "experiment"
    seed: Annotated[int, Field(strict=True)] = 0
    output_dir: str = "runs/experiment"  # relative to the study file (to the current directory without one)
    models: dict[str, str | ModelEntry]
    mazes: Annotated[list[MazeSource], Field(min_length=1)] = [GeneratedMazes()]
    conditions: Annotated[list[ConditionName], Field(min_length=1)] = [
        "solo_full",
        "solo_distributed",
        "collab",
    ]
    pairs: Literal["homogeneous", "all_ordered"] | Annotated[list[tuple[str, str]], Field(min_length=1)] = (
        "homogeneous"
    )
    relay: RelayConfig | None = None
    rollouts: Count = 1  # dialogues per (condition, models, maze)
    sampling: SamplingConfig = SamplingConfig()
    max_turns: Annotated[int, Field(ge=2, le=1000, strict=True)] = 50
    grader: Literal["rule"] | LLMGraderConfig = "rule"
    protocol: ProtocolConfig = ProtocolConfig()
    # Prompt overlays crossed with pairs in collab and referee (solo and relay run with none):
    # none, a shipped overlay, or the path of an overlay .yaml file (relative to the study file).
    interventions: Annotated[list[str], Field(min_length=1)] = [NONE]
    max_concurrent: Count = 256  # dialogues in flight (bounds KV-cache memory)

    @field_validator("models")
    @classmethod
    def _models_not_empty(cls, v: dict) -> dict:
        if not v:
            raise ValueError("list at least one model, e.g. `models: {smol: smollm2-135m-instruct}`")
        return v

    @field_validator("output_dir")
    @classmethod
    def _output_dir_given(cls, v: str) -> str:
        if not v.strip():
            raise ValueError(
                "empty: it would mean the config's own directory; set a directory of its own, e.g. runs/NAME"
            )
        return v

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        if isinstance(data, dict) and "prompt_version" in data:
            raise ValueError(
                f"prompt_version was renamed: write `protocol: {data['prompt_version']}` (v1, v2 or a templates file)"
            )
        return data

    @field_validator("protocol", mode="before")
    @classmethod
    def _protocol_shorthand(cls, v: Any) -> Any:
        return {"templates": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _cross_checks(self) -> Study:
        keys = set(self.models)
        if isinstance(self.pairs, list):
            for a, b in self.pairs:
                for m in (a, b):
                    if m not in keys:
                        raise ValueError(f"pairs: {m!r} is not a key of `models` ({', '.join(sorted(keys))})")
        if "relay" in self.conditions:
            if self.relay is None:
                raise ValueError(
                    "conditions include relay but the `relay` section is missing (strong, weak, k, modes)"
                )
            for role in ("strong", "weak"):
                if getattr(self.relay, role) not in keys:
                    raise ValueError(f"relay.{role}: {getattr(self.relay, role)!r} is not a key of `models`")
            too_long = [k for k in self.relay.k if k >= self.max_turns]
            if too_long:
                raise ValueError(f"relay.k: {too_long} must be below max_turns={self.max_turns}")
        elif self.relay is not None:
            raise ValueError(
                "relay: the section is set but conditions do not include relay; add relay to conditions or remove the section"
            )
        if len(set(self.conditions)) != len(self.conditions):
            raise ValueError("conditions: listed twice")
        if len(set(self.interventions)) != len(self.interventions):
            raise ValueError("interventions: listed twice; keep each intervention once")
        if self.interventions != [NONE] and not set(TALKING) & set(self.conditions):
            raise ValueError(
                "interventions: they change collaboration prompts, but conditions have no collab or referee; add one, or remove interventions"
            )
        return self

    @field_validator("interventions")
    @classmethod
    def _known_interventions(cls, v: list[str]) -> list[str]:
        for name in v:
            if name == "referee":
                raise ValueError(
                    "referee is a collaboration condition, not a prompt overlay (solo conditions have no moves to referee); add `referee` to conditions instead"
                )
            if name not in (NONE, *shipped_overlays()) and not name.endswith((".yaml", ".yml")):
                raise ValueError(
                    f"unknown intervention {name!r}; use {', '.join([NONE, *shipped_overlays()])} or the path of an overlay .yaml file"
                )
        return v

    def templates_for(self, intervention: str = NONE, *, referee: bool = False) -> Templates:
        """The study's templates under an intervention (and with the referee's clause)."""
        return apply(self.protocol.load(), load_overlay(intervention), referee=referee)

    def entry(self, key: str) -> ModelEntry:
        value = self.models[key]
        return ModelEntry(model=value) if isinstance(value, str) else value
