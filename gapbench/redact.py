"""Credentials in URLs (``http://user:password@host``) never reach a file or the terminal.

Keys given through ``api_key_env`` are never written at all; this covers the other way a secret
gets in: written into a ``base_url`` (or any URL) of a config, an error message or a report.
"""

from __future__ import annotations

import re
from typing import Any

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")


def redact_text(text: str) -> str:
    """``scheme://user:pass@host`` -> ``scheme://***@host``."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


def redact(value: Any) -> Any:
    """``value`` with every string in it (nested dicts and lists too) passed through `redact_text`."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value)
    return value
