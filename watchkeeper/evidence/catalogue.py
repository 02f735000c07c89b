"""The catalogue of error signatures: what an error line means and what to check next, as data.

Each entry in `evidence/signatures/*.yaml` (extended or overridden by name from
`triage.signature_dirs`) names the phrasings of one failure in several languages, the object
the line names (a host, an endpoint, a port, a path), the follow-up check that looks at that
object, who is to blame when the check confirms it, and the fix with its risk class. The triage
applies it to the top error templates of every log it reads; nothing here knows a service.

A title and its fix's title are said in the report's language: `extract_messages` puts them in the
message catalog (babel.cfg), and the rules translate them before filling them in; an operator's own
signature not in the catalog is said in its own words. A title is never empty: `_("")` is a catalog's
header.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Collection, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import IO, Any, Literal

import regex
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from watchkeeper.errors import ConfigError
from watchkeeper.evidence.report import Category

BUILTIN = Path(__file__).parent / "signatures"
log = logging.getLogger(__name__)
# An operator's pattern runs on every log line read: one that backtracks without end must not hang the
# triage. It is tried on lines built to make such patterns explode when it loads, and every match is
# timed out when it runs (the `regex` engine's own timeout; Python's `re` has none).
MATCH_TIMEOUT_S = 0.05
LOAD_TIMEOUT_S = 0.2
HOSTILE = ["a" * 3000 + "!", "0" * 3000 + "x", " " * 3000 + "x", "ab" * 1500 + "\n", "x@" * 1500, "=" * 3000 + "\0"]

ObjectKind = Literal["host", "endpoint", "port", "path", "queue", "none"]
# The follow-ups (evidence/follow.py): each looks at the object the way an SRE's next command would.
Check = Literal[
    "resolve",
    "connect",
    "listener",
    "holder",
    "mount",
    "access",
    "descriptors",
    "descriptor_holder",
    "connections",
    "queue_consumer",
    "clock",
    "tls",
    "none",
]
# The object each check reads (a check not listed reads none, or any).
CHECKS_OF_OBJECT: dict[str, set[str]] = {
    "resolve": {"host"},
    "connect": {"endpoint"},
    "listener": {"endpoint", "port"},
    "holder": {"path"},
    "mount": {"path"},
    "access": {"path"},
    "connections": {"endpoint"},
    "descriptors": {"none"},
    "descriptor_holder": {"none"},
    "queue_consumer": {"queue"},
    "clock": {"none"},
    "tls": {"endpoint"},
}
# Who is blamed: the object itself, what the check found behind it, or the service whose log it is.
Blame = Literal["object", "found", "writer"]


PLACEHOLDERS = {"object", "culprit", "service"}


def _known_placeholders(text: str) -> str:
    """A title is filled in at run time: an unknown or malformed {placeholder} fails at load instead."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid template: {exc}") from None
    unknown = names - PLACEHOLDERS
    if unknown:
        raise ValueError(f"{text!r} names {', '.join(sorted(unknown))}: only {{object}}, {{culprit}}, {{service}}")
    return text


class Fix(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(..., min_length=1, description="What to do; {object}, {culprit} and {service} are filled in.")
    skill: Literal["restart_service", "kill_process"] | None = Field(
        None, description="The skill of the fix; its risk class is the skill's own (both are mutating)."
    )

    @field_validator("title")
    @classmethod
    def _placeholders(cls, text: str) -> str:
        return _known_placeholders(text)


class Example(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    line: str
    object: str | None = Field(None, description="What the line names, as the follow-up reads it.")


class Signature(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(..., pattern=r"^[a-z][a-z0-9_]*$")
    category: Category
    patterns: list[str] = Field(..., min_length=1, description="Regexes, any language; matched case-insensitively.")
    object: ObjectKind = "none"
    check: Check = "none"
    blame: Blame = "writer"
    title: str = Field(
        ..., min_length=1, description="The hypothesis; {object}, {culprit} and {service} are filled in."
    )
    fix: Fix
    examples: list[Example] = Field(default_factory=list, description="Lines it must match: checked on load.")

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for p in patterns:
            try:
                compiled = regex.compile(p, regex.I)
            except regex.error as exc:
                raise ValueError(f"pattern {p!r} is not a regex: {exc}") from None
            try:
                for line in HOSTILE:
                    compiled.search(line, timeout=LOAD_TIMEOUT_S)
            except TimeoutError:
                raise ValueError(f"pattern {p!r} backtracks without end on a long line: simplify it") from None
        return patterns

    @field_validator("title")
    @classmethod
    def _placeholders(cls, text: str) -> str:
        return _known_placeholders(text)

    @cached_property
    def compiled(self) -> regex.Pattern[str]:
        return regex.compile("|".join(f"(?:{p})" for p in self.patterns), regex.I)

    def matches(self, text: str) -> bool:
        try:
            return bool(self.compiled.search(text, timeout=MATCH_TIMEOUT_S))
        except TimeoutError:
            log.warning(
                "signature %s: matching timed out on a %d-character line; taken as no match", self.name, len(text)
            )
            return False

    @model_validator(mode="after")
    def _examples_match(self) -> Signature:
        wanted = CHECKS_OF_OBJECT.get(self.check)
        if wanted is not None and self.object not in wanted:
            raise ValueError(f"check {self.check} reads an object of kind {' or '.join(sorted(wanted))}")
        for example in self.examples:
            if not self.matches(example.line):
                raise ValueError(f"example {example.line[:80]!r} matches none of the patterns")
        return self


def _entries(path: Path) -> list[Signature]:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"signature file {path} cannot be read: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, list):
        raise ConfigError(f"signature file {path} must hold a list of entries")
    out = []
    for n, entry in enumerate(raw):
        name = entry.get("name", f"#{n + 1}") if isinstance(entry, dict) else f"#{n + 1}"
        try:
            out.append(Signature.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "entry"
            message = " ".join(str(first["msg"]).split())  # one line, whatever the regex error said
            raise ConfigError(f"signature file {path}, entry {name}: {where}: {message}") from None
    return out


def load_catalogue(extra_dirs: list[Path]) -> list[Signature]:
    """The built-in signatures, then each directory's, a later entry replacing an earlier one of its name."""
    by_name: dict[str, Signature] = {}
    for directory in [BUILTIN, *extra_dirs]:
        if not Path(directory).is_dir():
            raise ConfigError(f"signature directory {directory} does not exist")
        for path in sorted(Path(directory).glob("*.y*ml")):
            for sig in _entries(path):
                by_name[sig.name] = sig
    return list(by_name.values())


def classify(catalogue: list[Signature], text: str) -> list[Signature]:
    """The signatures a line (or template) matches, in catalogue order."""
    return [s for s in catalogue if s.matches(text)]


def extract_messages(
    fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str], options: Mapping[str, Any]
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel's extractor for a signatures file: each entry's title and its fix's title, where they are written."""
    root = yaml.compose(fileobj, Loader=yaml.SafeLoader)
    for entry in root.value if isinstance(root, yaml.SequenceNode) else []:
        fields = _fields(entry)
        name = fields["name"].value if "name" in fields else "?"
        note = f"signature {name}: {{service}} logs the error, {{object}} is what it names, {{culprit}} is blamed"
        for node in (fields.get("title"), _fields(fields.get("fix")).get("title")):
            if isinstance(node, yaml.ScalarNode) and node.value:
                yield node.start_mark.line + 1, None, node.value, [note]


def _fields(node: yaml.Node | None) -> dict[str, yaml.Node]:
    """A YAML mapping's values by key (none for anything else)."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}
