"""NATS subject syntax, so a JetStream backend later reads the same names.

A subject is dot-separated tokens (`incident.opened`). A filter may use `*` for exactly one token
and, as its last token only, `>` for one or more (`incident.*`, `alert.>`, `>` for everything).
"""

from __future__ import annotations

_WILDCARDS = ("*", ">")


def _tokens(text: str, what: str) -> list[str]:
    tokens = text.split(".")
    if not text or any(not t or any(c.isspace() for c in t) for t in tokens):
        raise ValueError(f"invalid {what} {text!r}: dot-separated tokens, none empty, no spaces")
    return tokens


def check_subject(subject: str) -> str:
    if any(t in _WILDCARDS for t in _tokens(subject, "subject")):
        raise ValueError(f"invalid subject {subject!r}: wildcards belong in consumer filters, not subjects")
    return subject


def check_filter(filter_subject: str) -> str:
    tokens = _tokens(filter_subject, "subject filter")
    if ">" in tokens[:-1]:
        raise ValueError(f"invalid subject filter {filter_subject!r}: '>' may only be the last token")
    return filter_subject


def check_name(name: str) -> str:
    """A durable consumer's name (JetStream forbids dots, wildcards and spaces in it)."""
    if not name or len(name) > 100 or any(c in ".*>" or c.isspace() for c in name):
        raise ValueError(f"invalid consumer name {name!r}: 1-100 characters, no dots, wildcards or spaces")
    return name


def matches(filter_subject: str, subject: str) -> bool:
    want, have = filter_subject.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)
