"""Metric anomalies against a series' own baseline, and trend forecasts in the spirit of
Prometheus `predict_linear`. Robust statistics (median, MAD) so one spike does not hide another."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from watchkeeper.i18n import _, ngettext
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
        points = ngettext("{n} point", "{n} points", len(values)).format(n=len(values))
        return Forecast(None, Trend(0.0, 0.0, len(values)), _("not enough data ({points})").format(points=points))
    last = values[-1]
    if last >= threshold:
        return Forecast(0.0, fit, _("already at the threshold"))
    if fit.slope_per_s <= 0:
        return Forecast(None, fit, _("not growing"))
    eta = (threshold - last) / fit.slope_per_s
    return Forecast(
        eta,
        fit,
        _("reaches {threshold:g} in ~{duration} (R² {r2:.2f})").format(
            threshold=threshold, duration=human_duration(eta), r2=fit.r2
        ),
    )


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
        return _("{seconds:.0f} s").format(seconds=seconds)
    if seconds < 5400:
        return _("{minutes:.0f} min").format(minutes=seconds / 60)
    if seconds < 2 * 86400:
        return _("{hours:.1f} h").format(hours=seconds / 3600)
    return _("{days:.1f} days").format(days=seconds / 86400)
