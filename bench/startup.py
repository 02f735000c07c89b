"""How long `wk` takes to start: `wk version`, `wk --help` and one command that opens the store.

Run from the project root: `.venv/bin/python -m bench.startup [--runs N]`. Each command runs N
times as a whole process; the baseline is a bare `python -c pass` of the same interpreter, timed
in the same run, so the figures say what watchkeeper adds to Python's own start. The goal for
`wk version` and `wk --help` is 0.3 s on an idle host.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WK = str(Path(sys.executable).with_name("wk"))
GOAL_S = 0.3


def timed(argv: list[str], runs: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "config.toml").write_text("")
        env = {**os.environ, "WK_DATA_DIR": f"{tmp}/data", "WK_CONFIG": f"{tmp}/config.toml"}
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "wk version": [WK, "version"],
            "wk --help": [WK, "--help"],
            "wk skills list": [WK, "skills", "list"],
        }
        timed(cases["wk skills list"], 1, env)  # creates the store once, so every run below finds it
        medians = {}
        print(f"{'command':16} {'min':>7} {'median':>7} {'max':>7}   (seconds, {args.runs} runs)")
        for name, argv in cases.items():
            times = timed(argv, args.runs, env)
            medians[name] = statistics.median(times)
            print(f"{name:16} {min(times):7.3f} {medians[name]:7.3f} {max(times):7.3f}")
    base = medians["python -c pass"]
    worst = max(medians["wk version"], medians["wk --help"])
    verdict = "within" if worst <= GOAL_S else "over"
    print(
        f"SUMMARY wk version {medians['wk version']:.3f} s, wk --help {medians['wk --help']:.3f} s median "
        f"({worst - base:.3f} s over a bare Python start of {base:.3f} s; {verdict} the {GOAL_S} s goal); "
        f"wk skills list {medians['wk skills list']:.3f} s"
    )


if __name__ == "__main__":
    main()
