"""Timestamps in log lines, in the formats operators meet: ISO 8601, syslog (no year),
nginx/apache access and error logs, and epoch seconds or milliseconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d{1,6}))?\s?(Z|[+-]\d{2}:?\d{2})?")
_NGINX = re.compile(r"(\d{1,2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}:\d{2}:\d{2})(?: ([+-]\d{4}))?")
_APACHE = re.compile(r"\[[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}:\d{2}:\d{2})(?:\.\d+)? (\d{4})\]")
_SYSLOG = re.compile(r"^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}:\d{2}:\d{2})\b")
_EPOCH = re.compile(r"^\[?(\d{10})(?:\.(\d+)|(\d{3}))?\b")
MONTHS = {
    m: i
    for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)
}


def _offset(text: str | None) -> timedelta | None:
    """The offset a zone designator names; None when the text names no zone."""
    if not text:
        return None
    if text == "Z":
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])) * sign


def _utc(naive: datetime, offset: timedelta | None, local_zone: timedelta) -> datetime:
    return (naive - (local_zone if offset is None else offset)).replace(tzinfo=UTC)


def parse_timestamp(line: str, now: datetime | None = None, local_zone: timedelta = timedelta(0)) -> datetime | None:
    """The first timestamp in `line` as an aware UTC datetime, or None.

    Times without a zone are taken in `local_zone`; syslog times get the year that puts them
    closest before `now` (a December line read in January belongs to last year).
    """
    now = now or datetime.now(UTC)
    if m := _ISO.search(line):
        frac = (m.group(3) or "0").ljust(6, "0")
        naive = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}.{frac}")
        return _utc(naive, _offset(m.group(4)), local_zone)
    if m := _NGINX.search(line):
        naive = datetime.strptime(f"{m.group(1)} {m.group(2)} {m.group(3)} {m.group(4)}", "%d %b %Y %H:%M:%S")
        return _utc(naive, _offset(m.group(5)), local_zone)
    if m := _APACHE.search(line):
        naive = datetime.strptime(f"{m.group(2)} {m.group(1)} {m.group(4)} {m.group(3)}", "%d %b %Y %H:%M:%S")
        return _utc(naive, None, local_zone)
    if m := _SYSLOG.search(line):
        month, day = MONTHS.get(m.group(1)), int(m.group(2))
        if month is None:
            return None
        clock = datetime.strptime(m.group(3), "%H:%M:%S").time()
        for year in (now.year, now.year - 1):
            stamp = _utc(datetime.combine(datetime(year, month, day).date(), clock), None, local_zone)
            if stamp <= now + timedelta(days=1):
                return stamp
        return None
    if m := _EPOCH.search(line):
        seconds = float(m.group(1) + "." + (m.group(2) or m.group(3) or "0"))
        return datetime.fromtimestamp(seconds, UTC)
    return None


def clock_skew(
    newest_log_time: datetime | None, now: datetime, tolerance: timedelta = timedelta(minutes=2)
) -> timedelta | None:
    """How far a log's newest timestamp lies in the future: a host clock running ahead (or a wrong zone)."""
    if newest_log_time is None:
        return None
    ahead = newest_log_time - now
    return ahead if ahead > tolerance else None
