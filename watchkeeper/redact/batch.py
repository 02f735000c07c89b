"""Redact many strings in one pass over their concatenation: a skill result is hundreds of short
strings, and the fixed cost of each rule would otherwise be paid for every one of them."""

from __future__ import annotations

from watchkeeper.redact.text import redact_text

# Only a PEM block's rule matches across a line break; when it does, it swallows a separator, the
# pieces no longer count one per string, and the strings are redone one by one (as are strings that
# hold the separator themselves, which the control character makes unlikely).
_SEPARATOR = "\n\x1e\n"


def redact_texts(texts: list[str]) -> list[str]:
    """`redact_text` of each string, computed over all of them at once."""
    if len(texts) < 2:
        return [redact_text(t) for t in texts]
    parts = redact_text(_SEPARATOR.join(texts)).split(_SEPARATOR)
    return parts if len(parts) == len(texts) else [redact_text(t) for t in texts]
