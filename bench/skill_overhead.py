"""What `invoke` costs over calling a skill function directly.

A trivial skill, SQLite ledger in a temporary data directory. Prints µs per call and the ratio
to a direct call measured in the same process, sequentially and with 8 concurrent callers,
plus where the time goes. Run from the project root: `.venv/bin/python -m bench.skill_overhead [--calls N]`.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from watchkeeper.app import open_app
from watchkeeper.audit.ledger import CallRecord
from watchkeeper.config import Settings
from watchkeeper.policy.risk import Caller, RiskClass, Role
from watchkeeper.redact import redact
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.output_cap import cap_output
from watchkeeper.skills.registry import skill_from_function


class PingParams(SkillParams):
    text: str = "ping"


@skill(
    key="bench_ping",
    name="Ping",
    description="Returns its input.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="bench",
    result_example={"echo": "ping"},
)
def bench_ping(params: PingParams, ctx: SkillContext | None) -> dict[str, Any]:
    return {"echo": params.text}


def per_call_us(fn: Any, calls: int) -> float:
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t0) / calls * 1e6


def concurrent_us(fn: Any, calls: int, workers: int) -> float:
    each = calls // workers
    threads = [threading.Thread(target=lambda: [fn() for _ in range(each)]) for _ in range(workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (time.perf_counter() - t0) / (each * workers) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rt = open_app(Settings(data_dir=Path(tmp)))
        rt.registry.add(skill_from_function(bench_ping, source="bench"))
        caller = Caller(Role.CLI, "bench")
        params = {"text": "ping"}
        model = PingParams(text="ping")
        invoke = lambda: rt.invoker.invoke("bench_ping", params, caller)  # noqa: E731
        direct = lambda: bench_ping(PingParams(**params), None)  # noqa: E731
        skill_def = rt.registry.get("bench_ping")

        for _ in range(200):  # warm-up: imports, connection pool, caches
            invoke()
            direct()
        direct_us = per_call_us(direct, args.calls * 10)
        seq_us = per_call_us(invoke, args.calls)
        conc_us = concurrent_us(invoke, args.calls, 8)
        direct_conc_us = concurrent_us(direct, args.calls * 10, 8)

        validate_us = per_call_us(lambda: skill_def.params.validate("bench_ping", params), args.calls * 10)
        shape_us = per_call_us(lambda: cap_output(redact({"echo": "ping"}), 65536), args.calls * 10)
        now = time.time()
        from datetime import UTC, datetime

        stamp = datetime.fromtimestamp(now, UTC)
        record = CallRecord("bench_ping", params, "succeeded", stamp, stamp, "cli", result={"echo": "ping"})
        append_us = per_call_us(lambda: rt.ledger.append(record), args.calls)
        assert rt.ledger.verify().ok
        _ = model

    print(f"calls: {args.calls} sequential, {args.calls} across 8 threads (SQLite ledger, WAL)")
    print(f"direct call               {direct_us:10.2f} µs/call")
    print(
        f"invoke, sequential        {seq_us:10.2f} µs/call   ratio {seq_us / direct_us:8.0f}x   "
        f"overhead {seq_us - direct_us:8.1f} µs"
    )
    print(
        f"invoke, 8 concurrent      {conc_us:10.2f} µs/call   ratio {conc_us / direct_conc_us:8.0f}x   "
        f"(wall time per call; direct under 8 threads {direct_conc_us:.2f} µs)"
    )
    print("where the time goes (sequential, µs/call):")
    print(f"  params validation       {validate_us:10.2f}")
    print(f"  redact + output cap     {shape_us:10.2f}")
    print(f"  audit row (SQLite)      {append_us:10.2f}")
    print(f"  thread + gate + rest    {max(seq_us - validate_us - shape_us - append_us, 0):10.2f}")
    print(
        f"SUMMARY invoke overhead: {seq_us - direct_us:.0f} µs/call sequential ({seq_us / direct_us:.0f}x a direct "
        f"call), {conc_us:.0f} µs/call wall with 8 callers; the audit row is {append_us / seq_us:.0%} of it"
    )


if __name__ == "__main__":
    main()
