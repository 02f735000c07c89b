"""Prometheus, when configured: the last 30 minutes of the playbook family's series, forecast to zero
and checked for level shifts against their own baseline."""

from __future__ import annotations

import statistics

from watchkeeper.evidence.anomaly import human_duration, level_shift
from watchkeeper.evidence.facts import MetricForecast, MetricShift
from watchkeeper.evidence.gather import finding, gatherer
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.i18n import N_, _, ngettext

TRENDS = {
    "disk": ('node_filesystem_avail_bytes{{mountpoint="{mount}"}}', N_("available space on {mount}")),
    "memory": ("node_memory_MemAvailable_bytes", N_("available memory")),
}


@gatherer
def metric_trends(inv: Investigation) -> None:
    """With Prometheus configured: the last 30 minutes of the family's series, forecast to zero."""
    family = inv.results.get("playbook")
    if family not in TRENDS or not inv.results.get("prometheus"):
        return
    mount = inv.targets.mountpoint or "/"
    pattern, series_of = TRENDS[family]
    query, what = pattern.format(mount=mount), _(series_of).format(mount=mount)
    result = inv.call("query_promql", query=query, range_minutes=30, step_s=15, raw=True)
    ids = inv.audit_ids("query_promql")[-1:]
    for series in (result or {}).get("series", [])[:3]:
        slope, last = series.get("trend_per_s"), series.get("last")
        instance = series["labels"].get("instance", "?")
        values = [point[1] for point in series.get("values", [])]
        cut = len(values) * 2 // 3
        if len(values) >= 8 and level_shift(values[cut:], values[:cut]):
            inv.add(
                finding(
                    MetricShift(query=query),
                    "warn",
                    _(
                        "Prometheus: {what} on {instance} moved from a median of {before:.4g} to {after:.4g} "
                        "in the last 10 min"
                    ).format(
                        what=what,
                        instance=instance,
                        before=statistics.median(values[:cut]),
                        after=statistics.median(values[cut:]),
                    ),
                    ids,
                )
            )
        if slope is None or last is None:
            points = ngettext("{n} point", "{n} points", series["points"]).format(n=series["points"])
            inv.notes.append(
                _("Prometheus: not enough data for {what} on {instance} ({points})").format(
                    what=what, instance=instance, points=points
                )
            )
        elif slope >= 0:
            inv.notes.append(
                _("Prometheus: {what} on {instance} is not falling over the last 30 min").format(
                    what=what, instance=instance
                )
            )
        else:
            eta = last / -slope
            inv.add(
                finding(
                    MetricForecast(seconds=eta, query=query),
                    "crit" if eta < 3600 else "warn",
                    _("Prometheus: {what} on {instance} runs out in ~{duration} at the 30-min rate").format(
                        what=what, instance=instance, duration=human_duration(eta)
                    ),
                    ids,
                )
            )
