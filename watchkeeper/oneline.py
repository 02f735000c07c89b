"""Untrusted text (alert labels, log lines, a model's words) on one line of ours: line breaks become
spaces and other control characters (C0, C1 — a terminal obeys those too — and Unicode's line and
paragraph separators) are shown escaped, so the text can neither forge a line nor drive a terminal."""

from __future__ import annotations

import re

CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _shown(m: re.Match[str]) -> str:
    code = ord(m.group())
    return " " if m.group() in "\t\n\r" else f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain_line(text: str) -> str:
    return CONTROL.sub(_shown, text)
