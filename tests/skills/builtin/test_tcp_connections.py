"""tcp_connections against real sockets: a listening child, a client child holding 20 connections."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.conftest import call
from tests.helpers import free_port, python_child, wait_for
from watchkeeper.app import App
from watchkeeper.skills.invoke import Status

CLIENTS = 20

SERVER = """
import socket, sys, threading
server = socket.create_server(("127.0.0.1", int(sys.argv[1])), backlog=128)
held = []
def accept():
    while True:
        held.append(server.accept()[0])
threading.Thread(target=accept, daemon=True).start()
"""

CLIENT = f"""
import socket, sys
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range({CLIENTS})]
"""


@dataclass
class Pair:
    port: int
    server: subprocess.Popen[bytes]
    client: subprocess.Popen[bytes]


def held(pid: int) -> int:
    """Connections (not listening sockets) a process holds, straight from psutil."""
    return sum(1 for c in psutil.Process(pid).net_connections(kind="tcp") if c.status != psutil.CONN_LISTEN)


@pytest.fixture
def pair() -> Iterator[Pair]:
    port = free_port()
    with python_child(SERVER, str(port)) as server, python_child(CLIENT, str(port)) as client:
        # The client is ready once its connects returned; the server accepts them on its own time.
        assert wait_for(lambda: held(server.pid) >= CLIENTS, timeout=20), "the server never accepted them all"
        yield Pair(port, server, client)


def group(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, rows)
    return found[0]


def test_groups_connections_by_remote_process_and_listening_port(rt: App, pair: Pair) -> None:
    result = call(rt, "tcp_connections", top=100)
    assert result.ok, result.error
    out = result.result
    assert out["total"] == sum(out["states"].values()) >= 2 * CLIENTS
    remote = group(out["by_remote"], address="127.0.0.1", port=pair.port)
    assert remote["count"] >= CLIENTS and remote["states"].get("ESTABLISHED", 0) >= CLIENTS
    client = group(remote["processes"], pid=pair.client.pid)
    assert client["count"] >= CLIENTS and client["name"].startswith("python")
    local = group(out["by_local_port"], port=pair.port)
    assert local["count"] >= CLIENTS and local["pid"] == pair.server.pid
    assert group(local["clients"], address="127.0.0.1")["count"] >= CLIENTS
    by_pid = {p["pid"]: p for p in out["by_process"]}
    assert by_pid[pair.client.pid]["count"] >= CLIENTS and by_pid[pair.server.pid]["count"] >= CLIENTS
    eph = out["ephemeral"]
    assert eph["range"] == [int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()]
    assert eph["in_use"] >= CLIENTS and 0 < eph["percent"] <= 100


def test_the_port_filter_keeps_only_that_port(rt: App, pair: Pair) -> None:
    out = call(rt, "tcp_connections", port=pair.port, top=100).result
    assert out["total"] >= 2 * CLIENTS  # both ends of each loopback connection
    assert {r["port"] for r in out["by_remote"]} == {pair.port}
    assert {r["port"] for r in out["by_local_port"]} == {pair.port}
    assert {p["pid"] for p in out["by_process"]} >= {pair.client.pid, pair.server.pid}
    assert out["ephemeral"]["in_use"] >= CLIENTS  # the whole host's, whatever the filter


def test_the_host_filter_matches_the_remote_address(rt: App, pair: Pair) -> None:
    mapped = call(rt, "tcp_connections", host="::ffff:127.0.0.1", port=pair.port).result
    assert group(mapped["by_remote"], address="127.0.0.1", port=pair.port)["count"] >= CLIENTS
    nobody = call(rt, "tcp_connections", host="192.0.2.1").result  # TEST-NET-1: nothing talks to it
    assert nobody["total"] == 0 and nobody["by_remote"] == [] and nobody["states"] == {}


def test_close_wait_shows_who_did_not_close(rt: App) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(5)]
    try:
        for _ in clients:
            server.accept()[0].close()  # the peer hangs up; our clients never do

        def waiting() -> dict[str, Any] | None:
            out = call(rt, "tcp_connections", port=port).result
            rows = [r for r in out["by_remote"] if r["port"] == port]
            return rows[0] if rows and rows[0]["states"].get("CLOSE_WAIT") == 5 else None

        assert wait_for(waiting, timeout=10)
        row = waiting()
        assert row is not None and row["processes"] == [
            {"pid": os.getpid(), "name": psutil.Process().name(), "count": 5}
        ]
    finally:
        for sock in (*clients, server):
            with contextlib.suppress(OSError):
                sock.close()


@pytest.mark.parametrize(
    ("params", "field"),
    [({"port": 0}, "port"), ({"port": 65536}, "port"), ({"host": "db.example"}, "host"), ({"top": 101}, "top")],
)
def test_bad_params_are_invalid(rt: App, params: dict[str, Any], field: str) -> None:
    result = call(rt, "tcp_connections", **params)
    assert result.status is Status.INVALID and result.problems[0][0] == field
