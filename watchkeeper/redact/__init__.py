"""Mask secrets in text, structured data and command lines before anything leaves the process.

Used for audit rows (before hashing), skill results, errors, reports, notifications, MCP results
and model prompts; process command lines are masked where they are read (`redact_argv`). The
rules favour false positives (a masked non-secret costs a little context, a leaked secret an
incident) but leave counts and sizes alone: `max_tokens`, `input_tokens`, `password_min_length`.
The corpus they are held to is tests/fixtures/secrets.yaml.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar, cast

from watchkeeper.redact.argv import redact_argv
from watchkeeper.redact.batch import redact_texts
from watchkeeper.redact.keys import MASK, is_secret_key, is_secret_value
from watchkeeper.redact.text import redact_text

__all__ = ["MASK", "is_secret_key", "redact", "redact_argv", "redact_text"]


T = TypeVar("T")


def _is_secret_item(key: object, value: object) -> bool:
    """A scalar under a secret key (`{"api_token": 12345}`); lists and dicts under it are searched."""
    if not isinstance(key, str) or not is_secret_key(key) or isinstance(value, bool):
        return False
    return isinstance(value, str | int | float) and is_secret_value(key, str(value))


def _strings(value: Any, found: list[str]) -> None:
    """Every string `_rebuild` will ask for, in the order it asks."""
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if not _is_secret_item(k, v):
                _strings(v, found)
    elif isinstance(value, list | tuple):
        for v in value:  # lists of lines are the bulk of big results: no call per string
            if isinstance(v, str):
                found.append(v)
            else:
                _strings(v, found)


def _rebuild(value: Any, redacted: Iterator[str]) -> Any:
    if isinstance(value, str):
        return next(redacted)
    if isinstance(value, dict):
        return {k: (MASK if _is_secret_item(k, v) else _rebuild(v, redacted)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [next(redacted) if isinstance(v, str) else _rebuild(v, redacted) for v in value]
    return value


def redact(value: T) -> T:
    """A copy of JSON-like `value` with strings redacted anywhere and values under secret keys masked whole."""
    found: list[str] = []
    _strings(value, found)
    return cast(T, _rebuild(value, iter(redact_texts(found))))
