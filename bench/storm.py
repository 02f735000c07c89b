"""An alert storm into the real Alertmanager and into watchkeeper, side by side.

The same storm (bench/storm_data.py: 10 000 alerts over ~1 000 Alertmanager groups from four true
causes) goes into a fresh Alertmanager's `/api/v2/alerts` at batch sizes 1 and 10 from 8
concurrent senders: its ingest rate, POST latency, the notifications it sends once every group has
flushed (group_by [alertname, service], group_wait 1s, group_interval 5s) and its peak RSS are the
anchor the watchkeeper side is read against. Run from the project root:
`.venv/bin/python -m bench.storm [--alertmanager-only] [--alerts N] [--groups G] [--database-url URL]
[--investigators N]`.
Goals (issue 15): ≥ 2000 alerts/s with p99 POST ≤ 1 s and no non-2xx; incidents ≤ 1 % of alerts with
pairwise F1 ≥ 0.95; one investigation per incident; the first report ≤ settle + 10 s after the first alert.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.storm_alertmanager import alertmanager_run
from bench.storm_data import Storm, make_storm
from bench.storm_watchkeeper import watchkeeper_run

BATCHES = (1, 10)  # alerts per POST: one at a time, and a group's worth as Alertmanager sends them


def alertmanager_side(storm: Storm, senders: int) -> dict[int, dict[str, float]]:
    """Per batch size, a fresh Alertmanager taking every distinct alert of the storm once."""
    return {batch: alertmanager_run(storm.alerts, batch, senders) for batch in BATCHES}


def print_alertmanager(results: dict[int, dict[str, float]], senders: int) -> None:
    for batch, r in results.items():
        print(
            f"Alertmanager /api/v2/alerts, {batch:>2} per POST, {senders} senders: {r['alerts_per_s']:7.0f} alerts/s  "
            f"p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  non-2xx {r['non_2xx']:.0f}  "
            f"notifications {r['notifications']:.0f}  peak RSS {r['peak_rss'] / 2**20:.0f} MiB"
        )


def print_watchkeeper(wk: dict[str, dict[str, float]], senders: int, settle_s: float) -> None:
    for name, what in (("burst", "first round, as Alertmanager batches them"), ("resent", "the resends")):
        r = wk[name]
        print(
            f"watchkeeper webhook, {what}, {senders} senders: {r['alerts_per_s']:7.0f} alerts/s in {r['posts']:.0f} "
            f"POSTs  p50 {r['p50_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  non-2xx {r['non_2xx']:.0f}"
        )
    if single := wk["single"]:
        print(
            f"watchkeeper webhook, 1 alert per POST, {senders} senders: {single['alerts_per_s']:7.0f} alerts/s  "
            f"p50 {single['p50_ms']:6.1f} ms  p99 {single['p99_ms']:6.1f} ms  non-2xx {single['non_2xx']:.0f}"
        )
    o = wk["outcome"]
    print(
        f"watchkeeper: {o['incidents']:.0f} incidents, {o['investigations']:.0f} investigations "
        f"(each incident once: {'yes' if o['investigated_once'] else 'NO'}), {o['messages']:.0f} messages "
        f"({o['notifications']:.0f} notifications queued); grouping precision {o['precision']:.3f} recall "
        f"{o['recall']:.3f} F1 {o['f1']:.3f}; first report {o['first_report_s']:.1f} s and last "
        f"{o['last_report_s']:.1f} s after the first alert (settle {settle_s:g} s); "
        f"peak RSS {o['peak_rss'] / 2**20:.0f} MiB"
    )


def summary(alertmanager: dict[int, dict[str, float]], wk: dict[str, dict[str, float]] | None, alerts: int) -> str:
    anchor = ", ".join(f"batch {b}: {r['alerts_per_s']:.0f} alerts/s" for b, r in alertmanager.items())
    if wk is None:
        return f"SUMMARY alert storm, Alertmanager /api/v2/alerts (the anchor): {anchor}"
    burst, o = wk["burst"], wk["outcome"]
    return (
        f"SUMMARY alert storm of {alerts} alerts: watchkeeper ingests {burst['alerts_per_s']:.0f} alerts/s "
        f"(goal ≥ 2000), p99 {burst['p99_ms']:.0f} ms (goal ≤ 1000), non-2xx {burst['non_2xx']:.0f}; "
        f"{o['incidents']:.0f} incidents ({o['incidents'] / alerts:.2%} of alerts, goal ≤ 1%), F1 {o['f1']:.3f} "
        f"(goal ≥ 0.95), one investigation each: {'yes' if o['investigated_once'] else 'no'}, first report "
        f"{o['first_report_s']:.1f} s, last {o['last_report_s']:.1f} s, {o['messages']:.0f} messages; "
        f"Alertmanager {anchor}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--resends", type=int, default=3, help="posts of each group to watchkeeper")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--settle", type=float, default=10.0, help="incidents.settle_s of the manager")
    parser.add_argument("--database-url", help="the manager's database (default: SQLite in a temporary directory)")
    parser.add_argument("--investigators", type=int, help="incidents.investigators of the manager (default: its own)")
    parser.add_argument("--alertmanager-only", action="store_true", help="skip the watchkeeper side")
    args = parser.parse_args()
    storm = make_storm(args.alerts, args.groups, args.resends, args.seed)
    print(
        f"storm: {len(storm.alerts)} alerts in {args.groups} groups from {len(storm.causes)} causes "
        f"({', '.join(storm.causes)}); {len(storm.posts)} webhook posts with {args.resends} resends"
    )
    alertmanager = alertmanager_side(storm, args.senders)
    print_alertmanager(alertmanager, args.senders)
    wk = None
    if not args.alertmanager_only:
        with tempfile.TemporaryDirectory() as tmp:
            wk = watchkeeper_run(
                storm, args.groups, args.senders, args.settle, args.database_url, Path(tmp), args.investigators
            )
        print_watchkeeper(wk, args.senders, args.settle)
    print(summary(alertmanager, wk, len(storm.alerts)))


if __name__ == "__main__":
    main()
