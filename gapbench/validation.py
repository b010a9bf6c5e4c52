"""Reading typed data: one reader for stored records and one line for what a validation error means.

Records are dataclasses read through pydantic with unknown fields refused (a field this gapbench
does not know was written by a newer one: it is never dropped silently)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

T = TypeVar("T")
_ADAPTERS: dict[type, TypeAdapter[Any]] = {}  # building one costs milliseconds: once per class


def describe(exc: ValidationError, *, top: str = "(top level)") -> str:
    """The first error as ``field: what is wrong`` (``top`` names the whole input)."""
    err = exc.errors()[0]
    where = ".".join(map(str, err["loc"])) or top
    if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        return f"{where}: unknown field, perhaps written by a newer gapbench (upgrade gapbench)"
    if err["type"] == "missing":
        return f"{where}: missing field"
    return f"{where}: {err['msg'].lower()}"


def read_record(cls: type[T], data: Any, *, top: str = "(top level)") -> T:
    """``data`` (parsed JSON) as a ``cls``, every field type-checked; ValueError names the bad field."""
    if cls not in _ADAPTERS:
        _ADAPTERS[cls] = TypeAdapter(cls)
    adapter: TypeAdapter[T] = _ADAPTERS[cls]
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise ValueError(describe(exc, top=top)) from None
