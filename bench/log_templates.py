"""Template mining (watchkeeper's drain3 set-up, generic masks) on the Loghub 2k samples.

Run from the project root: `WK_DATASETS=/path/to/datasets .venv/bin/python -m bench.log_templates`.
Reads `$WK_DATASETS/loghub_2k/`; prints grouping accuracy per dataset next to
the published Drain figure (ICSE'19, per-dataset tuned regexes) and lines per second.
Grouping accuracy: the share of lines whose mined group is exactly their ground-truth group.
"""

from __future__ import annotations

import csv
import statistics
import time
from collections import defaultdict
from pathlib import Path

from bench.datasets import dataset
from watchkeeper.evidence.log_templates import cluster_ids


def grouping_accuracy(truth: list[str], mined: list[int]) -> float:
    true_groups: dict[str, set[int]] = defaultdict(set)
    mined_groups: dict[int, set[int]] = defaultdict(set)
    for i, (t, m) in enumerate(zip(truth, mined, strict=True)):
        true_groups[t].add(i)
        mined_groups[m].add(i)
    correct = sum(len(g) for g in mined_groups.values() if any(g == t for t in true_groups.values()))
    return correct / len(truth)


def published(root: Path) -> dict[str, float]:
    path = root / "published_results" / "icse19_grouping_accuracy_loghub2k.csv"
    with path.open() as fh:
        rows = {r["Parser"]: r for r in csv.DictReader(fh)}
    return {k: float(v) for k, v in rows["Drain"].items() if k not in ("Parser", "Average_computed")}


def main() -> None:
    root = dataset("loghub_2k")
    if root is None:
        print("SUMMARY nothing measured: this benchmark needs the Loghub 2k dataset")
        return
    drain = published(root)
    print(f"{'dataset':12} {'GA ours':>8} {'GA Drain':>9} {'diff':>7} {'lines/s':>9}")
    ours_all, theirs_all, rates = [], [], []
    for name in sorted(drain):
        structured = root / name / f"{name}_2k.log_structured.csv"
        with structured.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        lines = [r["Content"] for r in rows]
        t0 = time.perf_counter()
        mined = cluster_ids(lines)
        rate = len(lines) / (time.perf_counter() - t0)
        ga = grouping_accuracy([r["EventId"] for r in rows], mined)
        ours_all.append(ga)
        theirs_all.append(drain[name])
        rates.append(rate)
        print(f"{name:12} {ga:8.3f} {drain[name]:9.3f} {ga - drain[name]:+7.3f} {rate:9.0f}")
    mean_ours, mean_drain = statistics.fmean(ours_all), statistics.fmean(theirs_all)
    print(
        f"{'MEAN':12} {mean_ours:8.3f} {mean_drain:9.3f} {mean_ours - mean_drain:+7.3f} {statistics.median(rates):9.0f}"
    )
    print(
        f"SUMMARY grouping accuracy mean {mean_ours:.3f} over {len(ours_all)} Loghub-2k datasets vs published "
        f"Drain {mean_drain:.3f} ({mean_ours / mean_drain:.2f}x); median {statistics.median(rates):.0f} lines/s"
    )


if __name__ == "__main__":
    main()
