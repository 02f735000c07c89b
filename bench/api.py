"""What the HTTP API adds to `invoke`, and how many calls a second it serves.

A cheap safe skill (`path_info` of /) three ways: `invoke` in this process (the baseline), over HTTP
to a real `wk serve` in its own process (SQLite in a temporary data directory, one keep-alive client),
and with 8 concurrent clients. Prints p50/p99 latency and calls/s of each. Run from the project root:
`.venv/bin/python -m bench.api [--calls N]`. Goals (issue 14): HTTP adds ≤ 3 ms p50; ≥ 300 calls/s
with 8 clients.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2

from watchkeeper.app import open_app
from watchkeeper.config import Settings
from watchkeeper.policy.access import Access
from watchkeeper.policy.risk import Caller, Role
from watchkeeper.policy.users import add_user, create_token

PARAMS = {"path": "/"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Any, calls: int) -> list[float]:
    out = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def line(name: str, ms: list[float], seconds: float) -> str:
    return (
        f"{name:28} p50 {statistics.median(ms):6.2f} ms  p99 {pct(ms, 0.99):6.2f} ms  {len(ms) / seconds:7.0f} calls/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        config = data / "config.toml"
        config.write_text("")
        rt = open_app(Settings(data_dir=data), import_mcp=False)
        add_user(rt.engine, "bench", Access.OPERATOR)
        token, _ = create_token(rt.engine, "bench", timedelta(hours=1))
        caller = Caller(Role.CLI, "bench")
        local = lambda: rt.invoker.invoke("path_info", PARAMS, caller)  # noqa: E731
        timed(local, 100)  # warm-up
        t0 = time.perf_counter()
        base = timed(local, args.calls)
        base_s = time.perf_counter() - t0

        port = free_port()
        wk = shutil.which("wk", path=str(Path(sys.executable).parent)) or "wk"
        env = {**os.environ, "WK_DATA_DIR": str(data), "WK_CONFIG": str(config)}
        server = subprocess.Popen([wk, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx2.get(f"{url}/healthz").status_code == 200:
                        break
                except httpx2.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            path = "/api/v1/skills/path_info/invoke"
            with httpx2.Client(base_url=url, headers=headers) as client:
                remote = lambda: client.post(path, json={"params": PARAMS}).raise_for_status()  # noqa: E731
                timed(remote, 100)
                t0 = time.perf_counter()
                over_http = timed(remote, args.calls)
                http_s = time.perf_counter() - t0

            each = args.calls // args.clients
            results: list[list[float]] = [[] for _ in range(args.clients)]

            def client_loop(i: int) -> None:
                with httpx2.Client(base_url=url, headers=headers) as c:
                    results[i] = timed(lambda: c.post(path, json={"params": PARAMS}).raise_for_status(), each)

            threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(args.clients)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            many_s = time.perf_counter() - t0
            many = [ms for r in results for ms in r]
        finally:
            server.terminate()
            server.wait(30)
            rt.close()
    print(line("invoke in process", base, base_s))
    print(line("HTTP, 1 client", over_http, http_s))
    print(line(f"HTTP, {args.clients} clients", many, many_s))
    added = statistics.median(over_http) - statistics.median(base)
    rate = len(many) / many_s
    print(
        f"SUMMARY HTTP adds {added:.2f} ms p50 to invoke (goal ≤ 3); {rate:.0f} calls/s with {args.clients} "
        f"clients (goal ≥ 300); in process {statistics.median(base):.2f} ms p50"
    )


if __name__ == "__main__":
    main()
