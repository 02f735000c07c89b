"""`tools/call` round trip of a trivial safe skill over MCP stdio and streamable HTTP, against
calling `invoke` directly in the same process.

Run from the project root: `.venv/bin/python -m bench.mcp [--calls N]` (as a module, so this
file does not shadow the `mcp` SDK). The servers are this module started with
`--serve stdio|http DATA_DIR PORT`: the real watchkeeper MCP server plus one trivial skill.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from bench.skill_overhead import bench_ping
from watchkeeper.app import App, open_app
from watchkeeper.config import Settings
from watchkeeper.policy.risk import Caller, Role
from watchkeeper.skills.registry import skill_from_function

ROOT = Path(__file__).resolve().parents[1]


def bench_runtime(data_dir: str) -> App:
    rt = open_app(Settings(data_dir=Path(data_dir)))
    rt.registry.add(skill_from_function(bench_ping, source="bench"))
    return rt


def serve(transport: str, data_dir: str, port: int) -> None:
    rt = bench_runtime(data_dir)
    if transport == "stdio":
        from watchkeeper.mcp.server import serve_stdio

        anyio.run(serve_stdio, rt)
    else:
        from watchkeeper.mcp.http import serve_http

        serve_http(rt, "127.0.0.1", port)


def summary(name: str, samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    rate = len(samples) / sum(samples)
    print(f"{name:22} p50 {p50 * 1000:8.2f} ms   p99 {p99 * 1000:8.2f} ms   {rate:8.0f} calls/s")
    return {"p50": p50, "p99": p99, "rate": rate}


async def over_mcp(target: Any, calls: int) -> list[float]:
    samples = []
    async with Client(target) as client:
        for _ in range(20):
            await client.call_tool("bench_ping", {"text": "ping"})
        for _ in range(calls):
            t0 = time.perf_counter()
            result = await client.call_tool("bench_ping", {"text": "ping"})
            samples.append(time.perf_counter() - t0)
            assert not result.is_error, result
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--serve", nargs=3, metavar=("TRANSPORT", "DATA_DIR", "PORT"))
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], args.serve[1], int(args.serve[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        rt = bench_runtime(f"{tmp}/direct")
        caller = Caller(Role.MCP, "bench")
        direct = []
        for _ in range(args.calls + 20):
            t0 = time.perf_counter()
            assert rt.invoker.invoke("bench_ping", {"text": "ping"}, caller).ok
            direct.append(time.perf_counter() - t0)
        print(f"calls: {args.calls} sequential per transport, trivial safe skill, SQLite ledger")
        base = summary("invoke (in process)", direct[20:])
        stdio = StdioServerParameters(
            command=sys.executable, args=["-m", "bench.mcp", "--serve", "stdio", f"{tmp}/stdio", "0"], cwd=ROOT
        )
        s = summary("MCP stdio", anyio.run(over_mcp, stdio, args.calls))
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.mcp", "--serve", "http", f"{tmp}/http", str(port)], cwd=ROOT
        )
        try:
            for _ in range(100):
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.1)
            h = summary("MCP streamable HTTP", anyio.run(over_mcp, f"http://127.0.0.1:{port}/mcp", args.calls))
        finally:
            server.terminate()
            server.wait(10)
    print(f"ratios to invoke p50: stdio {s['p50'] / base['p50']:.1f}x, HTTP {h['p50'] / base['p50']:.1f}x")
    print(
        f"SUMMARY tools/call p50: invoke {base['p50'] * 1000:.2f} ms, stdio {s['p50'] * 1000:.2f} ms "
        f"({s['p50'] / base['p50']:.1f}x), HTTP {h['p50'] * 1000:.2f} ms ({h['p50'] / base['p50']:.1f}x); "
        f"{s['rate']:.0f} and {h['rate']:.0f} calls/s"
    )


if __name__ == "__main__":
    main()
