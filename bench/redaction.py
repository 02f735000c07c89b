"""What redacting a 64 KiB skill result costs (the budget: 2 ms).

Three shapes of 64 KiB, built from a fixed seed: log text without secrets, the same text with a
secret on every 40th line, and a `tail_file`-like result (a dict holding ~500 line strings) with
those secrets. Prints the median and best wall time per redaction and the process CPU time (on
a shared host the wall time includes waiting for a core; the CPU time is what redaction costs).
Run from the project root: `.venv/bin/python -m bench.redaction [--runs N]`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from watchkeeper.redact import redact, redact_text

SIZE = 64 * 1024
BUDGET_MS = 2.0

LINES = (
    '10.0.{a}.{b} - - [22/Nov/2026:01:00:{s:02d} +0000] "GET /api/v1/orders/{n}?page=2 HTTP/1.1" 200 {n} '
    '"https://shop.example.com/cart" "Mozilla/5.0 (X11; Linux x86_64)"',
    "2026-11-22T01:00:{s:02d}Z INFO  request_id={n} method=POST path=/api/v1/pay status=201 duration_ms={b} user=bob",
    "2026-11-22T01:00:{s:02d}Z ERROR upstream timed out (110: Connection timed out) while reading response header "
    "from upstream, client: 10.0.{a}.{b}",
    "Nov 22 01:00:{s:02d} vm sshd[{n}]: Failed password for invalid user admin from 192.168.{a}.{b} port 22 ssh2",
    "Nov 22 01:00:{s:02d} vm systemd[1]: Started Session {n} of user deploy.",
    '{{"ts": "2026-11-22T01:00:{s:02d}Z", "level": "warn", "msg": "slow query", "ms": {n}, "key": "orders:{b}"}}',
    "2026-11-22 01:00:{s:02d} WARN  worker {b} token bucket size 20 empty, retrying in 5s (queue depth {n})",
    '  File "/srv/app/worker.py", line {b}, in process_batch',
)
SECRETS = (
    "password=Hunter2-{n}",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ{n}In0.c2lnbmF0dXJlLXtufQ",
    "postgresql://app:Pg-{n}@db.internal:5432/app",
    "--db-password Db-{n}",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/{n}EXAMPLEKEY",
)


def log_lines(with_secrets: bool) -> list[str]:
    rng = random.Random(20261122)
    lines: list[str] = []
    while sum(len(line) + 1 for line in lines) < SIZE:
        fields = {"a": rng.randint(0, 255), "b": rng.randint(1, 999), "s": rng.randint(0, 59)}
        fields["n"] = rng.randint(1, 99999)
        line = rng.choice(LINES).format(**fields)
        if with_secrets and len(lines) % 40 == 0:
            line += " " + rng.choice(SECRETS).format(**fields)
        lines.append(line)
    return lines


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, float, float]:
    """(median wall, best wall, mean CPU) milliseconds per call."""
    fn()
    walls = []
    cpu0 = time.process_time()
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / runs
    return statistics.median(walls) * 1e3, min(walls) * 1e3, cpu * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    clean = "\n".join(log_lines(False))[:SIZE]
    dirty_lines = log_lines(True)
    dirty = "\n".join(dirty_lines)[:SIZE]
    result = {"path": "/var/log/app/app.log", "lines": dirty_lines, "truncated": False}
    assert "Hunter2-" not in json.dumps(redact(result)) and "Hunter2-" not in redact_text(dirty)
    shapes: list[tuple[str, Callable[[], Any]]] = [
        ("64 KiB log text, no secrets", lambda: redact_text(clean)),
        (f"64 KiB log text, {dirty.count(chr(10)) // 40 + 1} secrets", lambda: redact_text(dirty)),
        (f"{len(json.dumps(result)) // 1024} KiB result, {len(dirty_lines)} strings", lambda: redact(result)),
    ]
    print(f"redaction of a 64 KiB result, {args.runs} runs each (ms per call; budget {BUDGET_MS} ms)")
    print(f"{'':40s} {'median':>8s} {'best':>8s} {'cpu':>8s}")
    worst = (0.0, 0.0, 0.0)
    for name, fn in shapes:
        median, best, cpu = timed(fn, args.runs)
        worst = max(worst, (median, best, cpu))
        print(f"{name:40s} {median:8.3f} {best:8.3f} {cpu:8.3f}")
    verdict = "within" if worst[0] <= BUDGET_MS else "OVER"
    print(
        f"SUMMARY redacting 64 KiB takes {worst[0]:.2f} ms median wall ({worst[2]:.2f} ms CPU) in the slowest shape, "
        f"{verdict} the {BUDGET_MS:.0f} ms budget"
    )


if __name__ == "__main__":
    main()
