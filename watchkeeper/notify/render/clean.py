"""Untrusted text made inert before any renderer sees it.

Everything in a report that came from logs, alerts, files, HTTP bodies or a model passes through
`clean` once, whatever the medium: secrets redacted, one line, no control, zero-width or bidi
characters (they hide or reorder what a reader sees), no mentions, bounded length. Each renderer
then escapes what is significant in its own markup.
"""

from __future__ import annotations

import re

from watchkeeper.redact import redact_text

# Zero-width characters and bidi controls: U+200B to U+200F, U+2060, U+FEFF, U+202A to U+202E,
# U+2066 to U+2069, plus the Arabic letter mark and the Mongolian vowel separator.
INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u202a-\u202e\u2066-\u2069\u061c\u180e]")
BREAKS = re.compile("[\r\n\t\v\f\x85\u2028\u2029]+")
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")  # ANSI escapes included: the terminal is a medium too
# An "@" that can start a mention (@channel, @here, @everyone, @all, @所有人, @<mobile>, @name, <@U…>)
# becomes the full-width at sign (U+FF20): it reads the same and pings nobody. "user@host" keeps its "@".
MENTION = re.compile(r"(?<!\w)@(?=\w)")
FULL_WIDTH_AT = "\uff20"


def clean(text: str, limit: int = 500) -> str:
    text = INVISIBLE.sub("", redact_text(text))
    text = CONTROLS.sub("", BREAKS.sub(" ", text))
    text = MENTION.sub(FULL_WIDTH_AT, text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
