"""Least-squares trends and compact summaries of a time series: pure math every floor may use."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

MIN_POINTS = 4  # fewer points than this is "not enough data", said plainly


@dataclass(frozen=True)
class Trend:
    slope_per_s: float
    r2: float  # how well a straight line explains the points: the forecast's confidence
    points: int


def trend(times: list[float], values: list[float]) -> Trend | None:
    """Least-squares slope and R² of values over times; None when there is too little data."""
    n = len(values)
    if n < MIN_POINTS or len(times) != n or max(times) == min(times):
        return None
    mean_t, mean_v = statistics.fmean(times), statistics.fmean(values)
    sxx = sum((t - mean_t) ** 2 for t in times)
    sxy = sum((t - mean_t) * (v - mean_v) for t, v in zip(times, values, strict=True))
    slope = sxy / sxx
    ss_tot = sum((v - mean_v) ** 2 for v in values)
    ss_res = sum((v - (mean_v + slope * (t - mean_t))) ** 2 for t, v in zip(times, values, strict=True))
    r2 = 1.0 if ss_tot == 0 else max(0.0, 1 - ss_res / ss_tot)
    return Trend(slope, r2, n)


def series_summary(times: list[float], values: list[float]) -> dict[str, Any]:
    """min/max/avg/last and the trend per second (None with too few points)."""
    if not values:
        return {"points": 0, "min": None, "max": None, "avg": None, "last": None, "trend_per_s": None}
    fit = trend(times, values)
    return {
        "points": len(values),
        "min": min(values),
        "max": max(values),
        "avg": round(statistics.fmean(values), 6),
        "last": values[-1],
        "trend_per_s": None if fit is None else round(fit.slope_per_s, 9),
    }
