"""Mask secrets in text and structured data before anything leaves the process.

Used for audit rows (before hashing), skill results, errors, and later for reports,
notifications, MCP results and model prompts. Patterns favour false positives: a masked
non-secret costs a little context, a leaked secret costs an incident.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "[REDACTED]"

# Key names whose values are secrets wherever they appear (dict keys, key=value, JSON).
_SECRET_KEY = (
    r"(?:passw(?:or)?d|passwd|pwd|secret|client_secret|token|access_token|refresh_token|auth_token"
    r"|api[_-]?key|apikey|access[_-]?key(?:[_-]?id)?|secret[_-]?key|private[_-]?key|credentials?"
    r"|session[_-]?id|cookie|x-api-key)"
)
_SECRET_KEY_RE = re.compile(rf"^[\w.-]*{_SECRET_KEY}[\w.-]*$", re.IGNORECASE)

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # PEM private keys, whole block.
    (
        re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.DOTALL),
        f"-----BEGIN PRIVATE KEY-----{MASK}-----END PRIVATE KEY-----",
    ),
    # Authorization headers: Bearer / Basic / Token / any scheme.
    (
        re.compile(r"(?i)(\bauthorization\s*[:=]\s*[\"']?)(?:\w+\s+)?[^\s\"',;]+"),
        rf"\1{MASK}",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
    # Credentials inside URLs / connection strings: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+@"), rf"\1{MASK}@"),
    # key=value, key: value, "key": "value" for secret-looking keys.
    (
        re.compile(
            rf"(?i)([\"']?\b[\w.-]*{_SECRET_KEY}[\w.-]*[\"']?\s*(?:=|:)\s*)(\[REDACTED\]|\"[^\"]*\"|'[^']*'|[^\s,;&}}\]]+)"
        ),
        rf"\1{MASK}",
    ),
    # Well-known token shapes that appear without a key name.
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), MASK),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b"), MASK),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), MASK),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"), MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), MASK),
]


def redact_text(text: str) -> str:
    """Return `text` with every recognised secret replaced by the mask."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY_RE.match(key))


def _is_secret_value(key: object, value: object) -> bool:
    scalar = isinstance(value, str | int | float) and not isinstance(value, bool)
    return isinstance(key, str) and scalar and value != "" and is_secret_key(key)


def redact(value: Any) -> Any:
    """Redact strings anywhere inside JSON-like data; values under secret-looking keys go whole."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: (MASK if _is_secret_value(k, v) else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value
