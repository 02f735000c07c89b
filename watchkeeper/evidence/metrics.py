"""Prometheus, when configured: the last 30 minutes of the playbook family's series, forecast to zero
and checked for level shifts against their own baseline."""

from __future__ import annotations

import statistics

from watchkeeper.evidence.anomaly import human_duration, level_shift
from watchkeeper.evidence.facts import MetricForecast, MetricShift
from watchkeeper.evidence.gather import finding, gatherer
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.humanize import plural

TRENDS = {
    "disk": ('node_filesystem_avail_bytes{{mountpoint="{mount}"}}', "available space on {mount}"),
    "memory": ("node_memory_MemAvailable_bytes", "available memory"),
}


@gatherer
def metric_trends(inv: Investigation) -> None:
    """With Prometheus configured: the last 30 minutes of the family's series, forecast to zero."""
    family = inv.results.get("playbook")
    if family not in TRENDS or not inv.results.get("prometheus"):
        return
    mount = inv.targets.mountpoint or "/"
    query, what = (part.format(mount=mount) for part in TRENDS[family])
    result = inv.call("query_promql", query=query, range_minutes=30, step_s=15, raw=True)
    ids = inv.audit_ids("query_promql")[-1:]
    for series in (result or {}).get("series", [])[:3]:
        slope, last = series.get("trend_per_s"), series.get("last")
        instance = series["labels"].get("instance", "?")
        values = [v for _, v in series.get("values", [])]
        cut = len(values) * 2 // 3
        if len(values) >= 8 and level_shift(values[cut:], values[:cut]):
            inv.add(
                finding(
                    MetricShift(query=query),
                    "warn",
                    f"Prometheus: {what} on {instance} moved from a median of "
                    f"{statistics.median(values[:cut]):.4g} to {statistics.median(values[cut:]):.4g} in the "
                    "last 10 min",
                    ids,
                )
            )
        if slope is None or last is None:
            inv.notes.append(
                f"Prometheus: not enough data for {what} on {instance} ({plural(series['points'], 'point')})"
            )
        elif slope >= 0:
            inv.notes.append(f"Prometheus: {what} on {instance} is not falling over the last 30 min")
        else:
            eta = last / -slope
            inv.add(
                finding(
                    MetricForecast(seconds=eta, query=query),
                    "crit" if eta < 3600 else "warn",
                    f"Prometheus: {what} on {instance} runs out in ~{human_duration(eta)} at the 30-min rate",
                    ids,
                )
            )
