"""An alert storm into the real Alertmanager and into watchkeeper, side by side.

The same storm (bench/storm_data.py: 10 000 alerts over ~1 000 Alertmanager groups from four true
causes) goes into a fresh Alertmanager's `/api/v2/alerts` at batch sizes 1 and 10 from 8
concurrent senders: its ingest rate, POST latency, the notifications it sends once every group has
flushed (group_by [alertname, service], group_wait 1s, group_interval 5s) and its peak RSS are the
anchor the watchkeeper side is read against. Run from the project root:
`.venv/bin/python -m bench.storm --alertmanager-only [--alerts N] [--groups G]`.
"""

from __future__ import annotations

import argparse

from bench.storm_alertmanager import alertmanager_run
from bench.storm_data import Storm, make_storm

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


def summary(alertmanager: dict[int, dict[str, float]]) -> str:
    figures = ", ".join(
        f"batch {batch}: {r['alerts_per_s']:.0f} alerts/s, p99 {r['p99_ms']:.0f} ms, "
        f"{r['notifications']:.0f} notifications, {r['peak_rss'] / 2**20:.0f} MiB"
        for batch, r in alertmanager.items()
    )
    return f"SUMMARY alert storm, Alertmanager (the anchor): {figures}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--resends", type=int, default=3, help="posts of each group to watchkeeper")
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--alertmanager-only", action="store_true", help="skip the watchkeeper side")
    args = parser.parse_args()
    if not args.alertmanager_only:
        parser.error("the watchkeeper side is not written yet: run with --alertmanager-only")
    storm = make_storm(args.alerts, args.groups, args.resends, args.seed)
    print(
        f"storm: {len(storm.alerts)} alerts in {args.groups} groups from {len(storm.causes)} causes "
        f"({', '.join(storm.causes)}); {len(storm.posts)} webhook posts with {args.resends} resends"
    )
    alertmanager = alertmanager_side(storm, args.senders)  # a watchkeeper_side(storm, senders) goes beside it
    print_alertmanager(alertmanager, args.senders)
    print(summary(alertmanager))


if __name__ == "__main__":
    main()
