"""`assert_readable`: text a person reads carries no Python repr and no bad plural.

Reusable for any renderer (terminal, Markdown, chat platforms): give it the rendered text and,
in `quoted`, the data it shows verbatim (command lines, log lines), which may say anything.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable

from rich.console import Console

# What Python prints and a person should never see.
REPRS = {
    "dict or list repr": re.compile(r"\{'|\['|'\]|'\}"),
    "None where a value belongs": re.compile(r"(?<![\w.'\"])None(?![\w'\"])"),
    "type annotation": re.compile(r"<(?:list|dict|tuple|set|str|int|Path)\[|\b(?:list|dict|tuple)\[(?:str|int|Path)"),
    "object repr": re.compile(r"\bobject at 0x[0-9a-f]+|\b(?:PosixPath|datetime\.datetime|datetime\.timedelta)\("),
    "enum repr": re.compile(r"<\w+\.\w+: "),
}

# The nouns the product counts, singular -> plural.
NOUNS = {
    "finding": "findings",
    "warning": "warnings",
    "error": "errors",
    "line": "lines",
    "call": "calls",
    "row": "rows",
    "request": "requests",
    "entry": "entries",
    "tool": "tools",
    "hit": "hits",
    "case": "cases",
    "point": "points",
    "attempt": "attempts",
    "token": "tokens",
    "message": "messages",
    "core": "cores",
    "time": "times",
    "character": "characters",
    "item": "items",
    "action": "actions",
    "hypothesis": "hypotheses",
    "skill": "skills",
    "server": "servers",
    "process": "processes",
    "port": "ports",
    "file": "files",
    "recurrence": "recurrences",
}
SINGULAR = {plural: singular for singular, plural in NOUNS.items()}
# Words that may stand between a count and its noun: "3 error lines", "2 skill calls", "1 more action".
MODIFIERS = {"error", "skill", "tool", "model", "log", "more", "new", "audit", "knowledge", "mcp"}
COUNTED = re.compile(r"(?<![\w.,:/#+-])(\d+) ([a-z]+)(?: ([a-z]+))?\b")


def _bad_plurals(text: str) -> list[str]:
    found = []
    for m in COUNTED.finditer(text):
        count, first, second = int(m.group(1)), m.group(2), m.group(3)
        noun = second if first in MODIFIERS and second and (second in NOUNS or second in SINGULAR) else first
        is_plural, is_singular = noun in SINGULAR, noun in NOUNS and noun not in SINGULAR
        if (count == 1 and is_plural) or (count != 1 and is_singular):
            found.append(f"bad plural {m.group(0)!r}")
    return found


def problems(text: str, quoted: Iterable[str] = ()) -> list[str]:
    """Each Python repr or bad plural in `text`, after removing the verbatim data in `quoted`."""
    for data in sorted({q for q in quoted if q}, key=len, reverse=True):
        text = text.replace(data, " ")
    found = [f"{what}: {m.group(0)!r}" for what, rx in REPRS.items() for m in rx.finditer(text)]
    return found + _bad_plurals(text)


def assert_readable(text: str, quoted: Iterable[str] = (), where: str = "output") -> None:
    wrong = problems(text, quoted)
    assert not wrong, f"{where} is not readable: {'; '.join(wrong)}\n---\n{text}"


def on_terminal(draw: Callable[[Console], None], width: int = 200) -> str:
    """What `draw` prints on a terminal (no colour codes), as text to check."""
    out = io.StringIO()
    draw(Console(file=out, width=width))
    return out.getvalue()
