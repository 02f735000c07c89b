"""The fault-injection suite as a benchmark: accuracy and time from alert to report, no LLM.

Run from the project root: `.venv/bin/python -m bench.scenarios [--rounds N]` (root is needed for the tmpfs of
disk_filling). Prints per scenario and in aggregate: top-1 root cause, culprit and remediation
accuracy, median and p95 seconds from alert to report, skill calls, evidence compression
(raw bytes gathered / bytes in the report).
"""

from __future__ import annotations

import argparse
import statistics

from watchkeeper.scenarios.runner import Outcome, all_scenarios, run_scenario


def pct(values: list[bool]) -> str:
    return f"{100 * sum(values) / len(values):5.1f}%" if values else "  n/a"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=1, help="Runs of each scenario.")
    args = parser.parse_args()
    outcomes: list[Outcome] = []
    print(f"{'scenario':18} {'cause':>6} {'culprit':>8} {'fix':>6} {'s→report':>9} {'calls':>6} {'compr.':>7} clean")
    for name, scenario in all_scenarios().items():
        mine = [run_scenario(scenario) for _ in range(args.rounds)]
        outcomes += mine
        secs = [o.seconds_to_report for o in mine]
        print(
            f"{name:18} {pct([o.category_ok for o in mine]):>6} {pct([o.culprit_ok for o in mine]):>8} "
            f"{pct([o.remediation_ok for o in mine]):>6} {statistics.median(secs):9.2f} "
            f"{statistics.median(o.skill_calls for o in mine):6.0f} "
            f"{statistics.median(o.compression for o in mine):7.1f} {all(not o.leftovers for o in mine)}"
            + (f"  error: {mine[0].error}" if mine[0].error else "")
        )
    secs = [o.seconds_to_report for o in outcomes]
    cause = pct([o.category_ok for o in outcomes])
    culprit = pct([o.culprit_ok for o in outcomes])
    fix = pct([o.remediation_ok for o in outcomes])
    print(
        f"{'ALL':18} {cause:>6} {culprit:>8} {fix:>6} {statistics.median(secs):9.2f} "
        f"{statistics.median(o.skill_calls for o in outcomes):6.0f} "
        f"{statistics.median(o.compression for o in outcomes):7.1f} {all(not o.leftovers for o in outcomes)}"
    )
    print(
        f"SUMMARY {len(outcomes)} runs: root cause {cause.strip()}, culprit {culprit.strip()}, remediation "
        f"{fix.strip()}; alert→report median {statistics.median(secs):.2f}s, p95 {p95(secs):.2f}s; "
        f"median {statistics.median(o.skill_calls for o in outcomes):.0f} skill calls; "
        f"compression median {statistics.median(o.compression for o in outcomes):.1f}x"
    )


if __name__ == "__main__":
    main()
