"""The study: its typed settings (config), how one is read (load) and its plan of dialogues (plan)."""

from gapbench.study.config import (
    DEFAULT_CONFIG,
    TALKING,
    GeneratedMazes,
    LLMGraderConfig,
    MazeSetPath,
    ModelEntry,
    ProtocolConfig,
    RelayConfig,
    SamplingConfig,
    Study,
)
from gapbench.study.load import LoadedStudy, StudySource, load_config, load_study, study_yaml
from gapbench.study.plan import DialogueSpec, Shard, describe_plan, load_mazes, plan, select_shard

__all__ = [
    "DEFAULT_CONFIG",
    "TALKING",
    "DialogueSpec",
    "GeneratedMazes",
    "LLMGraderConfig",
    "LoadedStudy",
    "MazeSetPath",
    "ModelEntry",
    "ProtocolConfig",
    "RelayConfig",
    "SamplingConfig",
    "Shard",
    "Study",
    "StudySource",
    "describe_plan",
    "load_config",
    "load_mazes",
    "load_study",
    "plan",
    "select_shard",
    "study_yaml",
]
