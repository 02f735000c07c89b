"""Metric anomalies against a series' own baseline, and trend forecasts in the spirit of
Prometheus `predict_linear`. Robust statistics (median, MAD) so one spike does not hide another."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from watchkeeper.humanize import plural
from watchkeeper.series import MIN_POINTS, Trend, trend


@dataclass(frozen=True)
class Forecast:
    seconds_to_threshold: float | None  # None: not heading there (flat or falling)
    trend: Trend
    note: str


def forecast(times: list[float], values: list[float], threshold: float) -> Forecast:
    """Seconds until the series reaches `threshold` at its current rate."""
    fit = trend(times, values)
    if fit is None:
        return Forecast(None, Trend(0.0, 0.0, len(values)), f"not enough data ({plural(len(values), 'point')})")
    last = values[-1]
    if last >= threshold:
        return Forecast(0.0, fit, "already at the threshold")
    if fit.slope_per_s <= 0:
        return Forecast(None, fit, "not growing")
    eta = (threshold - last) / fit.slope_per_s
    return Forecast(eta, fit, f"reaches {threshold:g} in ~{human_duration(eta)} (R² {fit.r2:.2f})")


def spikes(values: list[float], baseline: list[float], z: float = 5.0) -> list[int]:
    """Indexes of `values` that sit more than `z` robust deviations from the baseline's median."""
    if len(baseline) < MIN_POINTS:
        return []
    center = statistics.median(baseline)
    mad = statistics.median(abs(v - center) for v in baseline) or max(abs(center) * 0.01, 1e-9)
    return [i for i, v in enumerate(values) if abs(v - center) / (1.4826 * mad) > z]


def level_shift(values: list[float], baseline: list[float], z: float = 5.0) -> bool:
    """The recent window's median moved away from the baseline, not just one point."""
    return bool(values) and len(spikes([statistics.median(values)], baseline, z)) == 1


def human_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
