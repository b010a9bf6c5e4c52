"""What every command shares: the user-error type, the retry exit code, argument types."""

from __future__ import annotations

import argparse
from collections.abc import Callable


class UserError(Exception):
    """An error the user can fix; printed as one clear message, never as a traceback."""


EXIT_RETRY = 75  # EX_TEMPFAIL: some dialogues met a passing failure (server down); rerun to retry them


def out_dir(flag: str, example: str) -> Callable[[str], str]:
    """The type of an output directory option: an empty string would silently mean the current one."""

    def check(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{flag} needs a directory, e.g. {flag} {example}")
        return text

    return check


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--shard expects i/N (e.g. 0/4), got {text!r}") from None
    if not (n >= 1 and 0 <= i < n):
        raise argparse.ArgumentTypeError(f"--shard {text}: need 0 <= i < N")
    return i, n
