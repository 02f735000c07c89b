"""Reading what a person hands to watchkeeper (config, alerts, reports, manifests, knowledge files).

Every problem becomes one InputError that names the file and says what is wrong with it — never a
decoding traceback — so each command can show it as one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from watchkeeper.errors import InputError

_OS_PROBLEMS = {
    FileNotFoundError: "no such file",
    IsADirectoryError: "is a directory, not a file",
    PermissionError: "permission denied",
}


def read_text(path: Path, source: str) -> str:
    """The file's text; `source` names it in errors, e.g. "alert /tmp/a.json"."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        problem = next((p for kind, p in _OS_PROBLEMS.items() if isinstance(exc, kind)), None)
        raise InputError(f"{source}: {problem or exc.strerror or 'cannot be read'}") from None
    except ValueError:  # a NUL byte in the path
        raise InputError(f"{source}: not a valid file name") from None
    return decode(data, source)


def decode(data: bytes, source: str) -> str:
    """UTF-8 text; a leading byte-order mark (Windows editors write one) is dropped."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{source}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError:  # Python refuses integers longer than 4300 digits
        raise InputError(f"{source}: a number in it is too long") from None
    except RecursionError:
        raise InputError(f"{source}: nested too deeply") from None


def read_json(path: Path, source: str) -> Any:
    return parse_json(read_text(path, source), source)


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages such as "labels must be an object, not a string"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def field_path(loc: tuple[int | str, ...]) -> str:
    """('hypotheses', 0, 'confidence') -> hypotheses[0].confidence"""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def first_problem(exc: ValidationError) -> str:
    """The first invalid field of a pydantic error and why, e.g. "started_at: Field required"."""
    error = exc.errors()[0]
    return f"{field_path(tuple(error['loc']))}: {error['msg']}"
