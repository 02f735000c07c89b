"""Start times as people type them: `30m`, `2h`, `1d` (or `-30m`), or an ISO timestamp."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

RELATIVE = re.compile(r"^-?(\d+)\s*(s|sec|m|min|h|d|w)$")
UNITS = {"s": "seconds", "sec": "seconds", "m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """The moment `text` names, timezone-aware (a timestamp without a zone is UTC); ValueError if none."""
    value = text.strip()
    m = RELATIVE.match(value)
    if m:
        return (now or datetime.now(UTC)) - timedelta(**{UNITS[m.group(2)]: int(m.group(1))})
    ts = datetime.fromisoformat(value)
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
