"""Timestamps in common log formats, clock skew, trends, forecasts and spikes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from watchkeeper.evidence.anomaly import forecast, level_shift, spikes
from watchkeeper.evidence.timeparse import clock_skew, parse_timestamp
from watchkeeper.series import trend

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2026-11-22T01:13:40.123Z ERROR x", datetime(2026, 11, 22, 1, 13, 40, 123000, tzinfo=UTC)),
        ("2026-11-22 09:13:40,5 +08:00 y", datetime(2026, 11, 22, 1, 13, 40, 500000, tzinfo=UTC)),
        (
            '10.0.0.1 - - [22/Nov/2026:02:13:40 +0100] "GET / HTTP/1.1" 502',
            datetime(2026, 11, 22, 1, 13, 40, tzinfo=UTC),
        ),
        ("[Sun Nov 22 01:13:40.123 2026] [proxy:error] AH00957", datetime(2026, 11, 22, 1, 13, 40, tzinfo=UTC)),
        ("Nov 22 01:13:40 web-1 sshd[812]: Accepted", datetime(2026, 11, 22, 1, 13, 40, tzinfo=UTC)),
        ("1795310020 level=error", datetime.fromtimestamp(1795310020, UTC)),
        ("1795310020123 level=error", datetime.fromtimestamp(1795310020.123, UTC)),
        ("no time here", None),
    ],
)
def test_formats(line: str, expected: datetime | None) -> None:
    assert parse_timestamp(line, now=NOW) == expected


def test_syslog_without_a_year_belongs_to_last_year_in_january() -> None:
    january = datetime(2027, 1, 2, tzinfo=UTC)
    assert parse_timestamp("Dec 31 23:59:00 host x", now=january) == datetime(2026, 12, 31, 23, 59, tzinfo=UTC)


def test_naive_times_use_the_given_zone() -> None:
    got = parse_timestamp("2026-11-22 10:00:00 INFO", now=NOW, local_zone=timedelta(hours=8))
    assert got == datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


def test_clock_skew() -> None:
    assert clock_skew(NOW + timedelta(minutes=10), NOW) == timedelta(minutes=10)
    assert clock_skew(NOW + timedelta(seconds=30), NOW) is None
    assert clock_skew(None, NOW) is None


def test_trend_and_forecast() -> None:
    times = [0.0, 1.0, 2.0, 3.0, 4.0]
    used = [50.0, 52.0, 54.0, 56.0, 58.0]
    fit = trend(times, used)
    assert fit is not None and fit.slope_per_s == pytest.approx(2.0) and fit.r2 == pytest.approx(1.0)
    fc = forecast(times, used, 100.0)
    assert fc.seconds_to_threshold == pytest.approx(21.0) and "21 s" in fc.note
    assert forecast(times, [5.0, 5.0, 5.0, 5.0, 5.0], 100).note == "not growing"
    assert forecast([0.0, 1.0], [1.0, 2.0], 10).note == "not enough data (2 points)"
    assert forecast([0.0], [1.0], 10).note == "not enough data (1 point)"


def test_spikes_and_level_shift() -> None:
    baseline = [10.0, 11.0, 9.5, 10.5, 10.0, 9.8, 10.2]
    assert spikes([10.1, 55.0, 9.9], baseline) == [1]
    assert level_shift([30.0, 31.0, 29.0], baseline) is True
    assert level_shift([10.0, 10.4], baseline) is False
    assert spikes([99.0], [1.0, 2.0]) == []  # too little baseline to judge
