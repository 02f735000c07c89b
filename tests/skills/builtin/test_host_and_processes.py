"""host_status, top_processes, process_detail and listening_ports against real processes and sockets."""

from __future__ import annotations

import os
import socket

import psutil
import pytest

from tests.conftest import call
from tests.helpers import cpu_burner, python_child
from watchkeeper.app import App
from watchkeeper.skills.invoke import Status


def test_host_status_reports_the_real_host(rt: App) -> None:
    result = call(rt, "host_status")
    assert result.ok, result.error
    host = result.result
    assert host["cpu_count"] == psutil.cpu_count()
    assert host["memory"]["total_bytes"] == psutil.virtual_memory().total
    assert set(host["load"]) == {"1m", "5m", "15m", "per_core_1m"}
    mounts = {d["mount"]: d for d in host["disks"]}
    assert "/" in mounts and 0 < mounts["/"]["percent"] < 100
    assert host["uptime_s"] > 0


def test_host_status_sees_a_busy_core(rt: App) -> None:
    with cpu_burner():
        result = call(rt, "host_status", sample_seconds=1.0)
    # One of the cores spins: at least a quarter of the whole machine's CPU is busy.
    assert result.result["cpu_percent"] >= 100 / psutil.cpu_count() / 2


@pytest.mark.alone  # it asks for the host's top process: another test's spinner could be it
def test_top_processes_finds_the_cpu_burner(rt: App) -> None:
    with cpu_burner() as burner:
        result = call(rt, "top_processes", by="cpu", n=3, sample_seconds=1.0)
    assert result.ok
    top = result.result["processes"][0]
    assert top["pid"] == burner.pid
    assert top["cpu_percent"] >= 80
    assert "while True" in top["cmdline"]


def test_top_processes_by_memory_finds_a_big_allocation(rt: App) -> None:
    setup = "b = bytearray(600 * 1024 * 1024)\nb[::4096] = b'x' * len(b[::4096])"
    with python_child(setup) as proc:
        result = call(rt, "top_processes", by="memory", n=5)
    pids = [p["pid"] for p in result.result["processes"]]
    assert proc.pid in pids
    mine = next(p for p in result.result["processes"] if p["pid"] == proc.pid)
    assert mine["rss_bytes"] > 500 * 1024 * 1024


def test_process_detail_describes_the_burner(rt: App) -> None:
    with cpu_burner() as burner:
        result = call(rt, "process_detail", pid=burner.pid)
        started = psutil.Process(burner.pid).create_time()
    assert result.ok, result.error
    detail = result.result
    assert detail["pid"] == burner.pid and detail["ppid"] == os.getpid()
    assert "while True" in detail["cmdline"] and detail["threads"] >= 1
    assert detail["cpu_percent"] >= 50
    assert detail["start_time"] == started
    assert detail["user"] == psutil.Process().username()


def test_process_detail_of_a_missing_pid_fails_clearly(rt: App) -> None:
    result = call(rt, "process_detail", pid=4_000_000)
    assert result.status is Status.FAILED and result.error == "no process with pid 4000000"


def test_listening_ports_names_the_process(rt: App) -> None:
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    tcp_port, udp_port = tcp.getsockname()[1], udp.getsockname()[1]
    try:
        result = call(rt, "listening_ports")
        only_tcp = call(rt, "listening_ports", protocol="tcp")
    finally:
        tcp.close()
        udp.close()
    ports = {(p["protocol"], p["port"]): p for p in result.result["ports"]}
    mine = ports[("tcp", tcp_port)]
    assert mine["pid"] == os.getpid() and mine["address"] == "127.0.0.1"
    assert ("udp", udp_port) in ports
    assert all(p["protocol"] == "tcp" for p in only_tcp.result["ports"])
    # This host's own addresses come too: a listener on one of them does not answer on the others.
    assert "127.0.0.1" in result.result["host_addresses"]
