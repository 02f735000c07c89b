"""The fault-injection suites as a benchmark: accuracy and time from alert (or question) to report, no LLM.

Run from the project root: `.venv/bin/python -m bench.scenarios [--rounds N] [--suite original|blind]`
(root is needed for the tmpfs volumes). Prints per scenario and in aggregate: top-1 root cause,
culprit and remediation accuracy, median and p95 seconds from alert to report, skill calls,
evidence compression (raw bytes gathered / bytes in the report); then the original set and the
blind set (issue 12: written without reading the triage's rules) side by side per fault class.
Both sets are scored on the report's fixed categories (the fault classes).
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict

from watchkeeper.app import open_app
from watchkeeper.evidence.report import Symptom
from watchkeeper.incidents.investigate import investigate
from watchkeeper.scenarios.base import FAULT_CLASSES
from watchkeeper.scenarios.runner import Outcome, all_scenarios, run_scenario
from watchkeeper.scenarios.world import World, free_port


def pct(values: list[bool]) -> str:
    return f"{100 * sum(values) / len(values):5.1f}%" if values else "  n/a"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def fault_class(o: Outcome) -> str:
    return o.fault_class or o.truth.category


def missed(o: Outcome) -> str:
    if o.got_category is None:
        return "no hypothesis"
    c = o.got_culprit or {}
    return f"{o.got_category} · {c.get('kind', '-')} {c.get('url') or c.get('path') or c.get('name', '-')}"


def totals(outcomes: list[Outcome]) -> str:
    if not outcomes:
        return "no runs"
    secs = [o.seconds_to_report for o in outcomes]
    return (
        f"{len(outcomes)} runs: root cause {pct([o.category_ok for o in outcomes]).strip()}, culprit "
        f"{pct([o.culprit_ok for o in outcomes]).strip()}, "
        f"remediation {pct([o.remediation_ok for o in outcomes]).strip()}, "
        f"passed {pct([o.passed for o in outcomes]).strip()}; median {statistics.median(secs):.2f}s, "
        f"p95 {p95(secs):.2f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1, help="Runs of each scenario.")
    parser.add_argument("--suite", choices=["original", "blind"], help="Only this suite (default: both).")
    args = parser.parse_args()
    outcomes: list[Outcome] = []
    print(
        f"{'scenario':26} {'class':12} {'asked':8} {'sim':3} {'cause':>6} {'culprit':>8} {'fix':>6} "
        f"{'s→report':>9} {'calls':>6} {'compr.':>7} clean"
    )
    for name, scenario in all_scenarios(args.suite).items():
        mine = [run_scenario(scenario) for _ in range(args.rounds)]
        outcomes += mine
        secs = [o.seconds_to_report for o in mine]
        first = mine[0]
        print(
            f"{name:26} {fault_class(first):12} {first.asked:8} {'yes' if first.simulated else '-':3} "
            f"{pct([o.category_ok for o in mine]):>6} {pct([o.culprit_ok for o in mine]):>8} "
            f"{pct([o.remediation_ok for o in mine]):>6} {statistics.median(secs):9.2f} "
            f"{statistics.median(o.skill_calls for o in mine):6.0f} "
            f"{statistics.median(o.compression for o in mine):7.1f} {all(not o.leftovers for o in mine)}"
            + (f"  error: {first.error}" if first.error else "")
            + ("" if first.passed else f"  got: {missed(first)}")
        )
    by_suite: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_suite[o.suite].append(o)
    print()
    head = f"{'cause':>6} {'culprit':>8} {'s':>6}"
    print(f"{'class':12} | {'original: n':>11} {head} | {'blind: n':>8} {head}")
    for cls in FAULT_CLASSES:
        cells = []
        for suite in ("original", "blind"):
            mine = [o for o in by_suite[suite] if fault_class(o) == cls]
            width = 11 if suite == "original" else 8
            if not mine:
                cells.append(f"{0:>{width}} {'':>6} {'':>8} {'':>6}")
                continue
            cells.append(
                f"{len(mine):>{width}} {pct([o.category_ok for o in mine]):>6} {pct([o.culprit_ok for o in mine]):>8} "
                f"{statistics.median(o.seconds_to_report for o in mine):6.2f}"
            )
        print(f"{cls:12} | {cells[0]} | {cells[1]}")
    sweeps = [o.report.sweep_s for o in outcomes if o.report is not None and o.report.sweep_s is not None]
    if sweeps:
        print(f"\nsweep: median {statistics.median(sweeps):.2f}s, p95 {p95(sweeps):.2f}s over {len(sweeps)} runs")
    invented = healthy()
    parts = [f"{suite} {totals(by_suite[suite])}" for suite in ("original", "blind") if by_suite[suite]]
    clean = all(not o.leftovers for o in outcomes)
    print(
        f"SUMMARY {'; '.join(parts)}; sweep p95 {p95(sweeps) if sweeps else float('nan'):.2f}s; "
        f"healthy host: {invented or 'no culprit invented'}; nothing left behind: {clean}"
    )


def healthy() -> str:
    """A quiet host (two services with clean logs, one answering): no culprit may be invented, for a
    question or a node alert. Returns what was invented, or an empty string. (On a shared machine,
    something else's real trouble would show here too: the line printed says what it was.)"""
    world = World("healthy")
    invented = []
    try:
        for service in ("catalog", "billing"):
            world.backfill(service, [f"INFO GET /{service}/{i} 200 {i % 7 + 3}ms" for i in range(60)])
        world.spawn("api", "catalog", port=free_port())
        app = open_app(world.settings())
        try:
            symptoms = [
                Symptom(question="is anything wrong with this server right now?"),
                Symptom(
                    alertname="HostHighLoad",
                    labels={"alertname": "HostHighLoad", "job": "node", "instance": "localhost:9100"},
                ),
            ]
            for symptom in symptoms:
                report = investigate(app, symptom, use_model=False)
                asked = symptom.question or symptom.alertname
                top = report.hypotheses[0] if report.hypotheses else None
                print(f"healthy host, {asked!r}: {report.summary}")
                if top is not None:  # nothing is broken here: any culprit is invented
                    invented.append(f"{top.title} ({top.confidence:.2f}) for {asked!r}")
        finally:
            app.close()
    finally:
        world.cleanup()
    return "; ".join(invented)


if __name__ == "__main__":
    main()
