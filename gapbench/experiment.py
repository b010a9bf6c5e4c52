"""The name `gapbench.cli` imports from here until it imports `gapbench.study`."""

from gapbench.study import DEFAULT_CONFIG

__all__ = ["DEFAULT_CONFIG"]
