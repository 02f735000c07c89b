"""Alertmanager's label matchers, for silences and maintenance windows: `name="value"`, `!=`, `=~`, `!~`.

Parsed and matched as Alertmanager's classic parser does (`pkg/labels/parse.go`, `matcher.go`): quotes
around the value are optional, `\\"`, `\\\\` and `\\n` are escapes inside it, a regex must match the whole
value (`^(?:re)$`), and a missing label is the empty string, so `team!="db"` and `team=""` both match an
alert without a team.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

import regex

log = logging.getLogger(__name__)

Op = Literal["=", "!=", "=~", "!~"]
# An operator's regex runs against labels senders wrote: one that backtracks without end must not hang the
# assigner, so every match is timed out (the `regex` engine's own timeout; Go's RE2 never backtracks).
MATCH_TIMEOUT_S = 0.05
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
# `=~` before `=`, or `a=~b` would read as `a` = `~b`.
_MATCHER = re.compile(r"\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*", re.S)
_ESCAPES = {"n": "\n", '"': '"', "\\": "\\"}
_SYNTAX = "expected name=value, name!=value, name=~regex or name!~regex"


@dataclass(frozen=True)
class Matcher:
    """One label condition. Constructing it checks the name, the operator and a regex value."""

    name: str
    op: Op
    value: str
    _regex: regex.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"bad matcher {str(self)!r}: {self.name!r} is not a label name")
        if self.op not in get_args(Op):
            raise ValueError(f"bad matcher operator {self.op!r}: {_SYNTAX}")
        if self.op in ("=~", "!~"):
            try:
                regex.compile(self.value)  # alone first, so an error's position is the operator's
            except regex.error as exc:
                raise ValueError(f"bad matcher {str(self)!r}: not a regular expression ({exc})") from None
            # Matched with fullmatch: anchored as Alertmanager's ^(?:…)$.
            object.__setattr__(self, "_regex", regex.compile(f"(?:{self.value})"))

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """`name="value"` or `name=value`, with `!=`, `=~`, `!~`; ValueError in one line when it is not one."""
        found = _MATCHER.fullmatch(text)
        if not found:
            raise ValueError(f"bad matcher {text!r}: {_SYNTAX}")
        name, op, raw = found.groups()
        return cls(name, op, _unquote(raw, text))  # type: ignore[arg-type]  # op is one of Op by the pattern

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.name, "")
        if self._regex is None:
            return (value == self.value) == (self.op == "=")
        try:
            hit = self._regex.fullmatch(value, timeout=MATCH_TIMEOUT_S) is not None
        except TimeoutError:
            # Undecided: a silence that cannot be decided silences nothing, so no alert is hidden by accident.
            log.warning("matcher %s timed out on a %d-character value; taken as no match", self, len(value))
            return False
        return hit == (self.op == "=~")

    def __str__(self) -> str:
        """Alertmanager's own spelling, which `parse` reads back to an equal matcher."""
        escaped = self.value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def parse_matchers(texts: Iterable[str]) -> list[Matcher]:
    """Each text is one matcher, or a brace list of them: `{alertname="DiskFull",instance=~"db-.*"}`."""
    matchers: list[Matcher] = []
    for text in texts:
        inner = text.strip()
        if inner.startswith("{"):
            if not inner.endswith("}"):
                raise ValueError(f"bad matchers {text!r}: the opening brace is never closed")
            matchers.extend(Matcher.parse(part) for part in _split(inner[1:-1]))
        else:
            matchers.append(Matcher.parse(text))
    return matchers


def all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches (so also for none: whoever stores a silence requires at least one)."""
    return all(m.matches(labels) for m in matchers)


def _split(text: str) -> list[str]:
    """The brace list at its commas, except those inside a quoted value (Alertmanager's ParseMatchers)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in text:
        if ch == "," and not quoted:
            parts.append("".join(current))
            current = []
            continue
        if ch == '"' and not escaped:
            quoted = not quoted
        escaped = ch == "\\" and not escaped
        current.append(ch)
    last = "".join(current)
    if last.strip():  # a trailing comma is allowed
        parts.append(last)
    return parts


def _unquote(raw: str, text: str) -> str:
    """The value with its optional quotes removed and its escapes resolved; a stray `\\` is kept literally."""
    quoted = raw.startswith('"')
    body = raw[1:] if quoted else raw
    value: list[str] = []
    escaped = False
    for n, ch in enumerate(body):
        if escaped:
            escaped = False
            value.append(_ESCAPES.get(ch, "\\" + ch))
        elif ch == "\\" and n < len(body) - 1:
            escaped = True
        elif ch == '"':
            if not quoted or n < len(body) - 1:
                raise ValueError(f'bad matcher {text!r}: a double quote inside the value must be escaped (\\")')
            quoted = False  # the closing quote
        else:
            value.append(ch)
    if quoted:
        raise ValueError(f"bad matcher {text!r}: the value's opening quote is never closed")
    return "".join(value)
