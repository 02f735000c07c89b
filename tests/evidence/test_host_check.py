"""`wk check`'s analysis: thresholds on real-shaped data, and a real run on this host."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psutil

from tests.conftest import call, missing_backend
from tests.helpers import cpu_burner, free_port, wait_for
from tests.readable import on_terminal
from watchkeeper.app import App
from watchkeeper.cli.render import print_host_report
from watchkeeper.evidence.host_check import (
    Finding,
    HostReport,
    foreign,
    host_findings,
    listeners,
    log_findings,
    process_findings,
    run_check,
)
from watchkeeper.skills.context import SkillContext

GIB = 1024**3


def host(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "hostname": "web-1",
        "cpu_percent": 20.0,
        "cpu_count": 4,
        "load": {"1m": 1.0, "5m": 1.0, "15m": 1.0, "per_core_1m": 0.25},
        "memory": {"total_bytes": 16 * GIB, "available_bytes": 8 * GIB, "used_bytes": 8 * GIB, "percent": 50.0},
        "swap": {"total_bytes": 2 * GIB, "used_bytes": 0, "percent": 0.0},
        "disks": [{"mount": "/", "percent": 40.0, "inodes_percent": 5.0}],
    }
    base.update(overrides)
    return base


def kinds(findings: list[Any]) -> dict[str, str]:
    return {f.kind: f.severity for f in findings}


def test_a_healthy_host_has_no_findings() -> None:
    assert host_findings(host()) == []


def test_disk_thresholds() -> None:
    warn = host(disks=[{"mount": "/var", "percent": 91.0, "inodes_percent": 5.0}])
    crit = host(disks=[{"mount": "/var", "percent": 97.0, "inodes_percent": 96.0}])
    assert kinds(host_findings(warn)) == {"disk": "warn"}
    assert kinds(host_findings(crit)) == {"disk": "crit", "inodes": "crit"}
    assert host_findings(crit)[0].message == "disk /var at 97%"


def test_memory_pressure_swap_cpu_and_load() -> None:
    squeezed = host(
        memory={"total_bytes": 16 * GIB, "available_bytes": int(0.6 * GIB), "used_bytes": 15 * GIB, "percent": 96},
        swap={"total_bytes": 2 * GIB, "used_bytes": GIB, "percent": 60.0},
        cpu_percent=99.0,
        load={"1m": 20.0, "5m": 10.0, "15m": 5.0, "per_core_1m": 5.0},
    )
    assert kinds(host_findings(squeezed)) == {"memory": "crit", "swap": "warn", "cpu": "crit", "load": "crit"}


def test_a_process_pinning_a_core() -> None:
    procs = [
        {"pid": 7, "name": "java", "user": "app", "cpu_percent": 99.5, "cmdline": "java -jar app.jar"},
        {"pid": 8, "name": "sh", "user": "app", "cpu_percent": 3.0, "cmdline": "sh"},
    ]
    found = process_findings({"processes": procs, "watchkeeper_pids": []})
    assert len(found) == 1 and found[0].message == "java (pid 7) pinning a core at 100%"


def test_watchkeeper_busy_looking_is_shown_but_never_flagged() -> None:
    procs = [
        {"pid": 41, "name": "wk", "user": "root", "cpu_percent": 109.0, "cmdline": "wk check"},
        {"pid": 7, "name": "java", "user": "app", "cpu_percent": 99.5, "cmdline": "java -jar app.jar"},
    ]
    found = process_findings({"processes": procs, "watchkeeper_pids": [41]})
    assert [(f.severity, f.message) for f in found] == [
        ("ok", "watchkeeper itself (pid 41) used 109% of a core while checking"),
        ("warn", "java (pid 7) pinning a core at 100%"),
    ]


def test_top_processes_names_watchkeeper_and_the_commands_its_skills_run(rt: App) -> None:
    ctx = SkillContext(settings=rt.settings, edge="local", call_id="t", deadline=time.monotonic() + 30)
    running = threading.Thread(target=ctx.run, args=(["sleep", "3"],), daemon=True)
    with cpu_burner() as burner:
        running.start()
        assert wait_for(lambda: any(p.name() == "sleep" for p in psutil.Process().children()))
        command = next(p.pid for p in psutil.Process().children() if p.name() == "sleep")
        assert ctx.commands.owns(os.getpid()) and ctx.commands.owns(command) and not ctx.commands.owns(burner.pid)
        top = call(rt, "top_processes", by="memory", n=100, sample_seconds=0.1).result
        pids = {p["pid"] for p in top["processes"]}
        assert os.getpid() in top["watchkeeper_pids"]  # the process running the skill is watchkeeper
        assert burner.pid in pids and burner.pid not in top["watchkeeper_pids"]  # a child of it is not
        assert foreign(top) and all(p["pid"] != os.getpid() for p in foreign(top))
    running.join(timeout=30)
    assert not ctx.commands.owns(command)


def test_error_bursts_only_in_recent_logs() -> None:
    lines = [f"2026-11-22 ERROR db timeout {i}" for i in range(25)] + ["INFO ok"] * 100
    summary, finding = log_findings("/var/log/app.log", lines, modified_ago_s=10)
    assert summary["error_lines"] == 25 and finding is not None and finding.severity == "warn"
    assert summary["newest_errors"][-1] == "2026-11-22 ERROR db timeout 24"
    _, stale = log_findings("/var/log/app.log", lines, modified_ago_s=7200)
    assert stale is None
    _, noise = log_findings("/var/log/apt.log", ["Unpacking libgpg-error-dev (1.46-1)"] * 50, modified_ago_s=1)
    assert noise is None


def test_the_verdict_counts_in_words() -> None:
    report = HostReport("check-1", host=host())
    report.findings = [Finding("warn", "disk", "disk /var at 91%")]
    assert report.verdict.startswith("WARN: 1 warning on web-1: ")
    report.findings += [Finding("warn", "load", "load 9 on 4 cores"), Finding("crit", "cpu", "CPU at 99%")]
    assert report.verdict.startswith("CRIT: 1 critical, 2 warnings on web-1: CPU at 99%")


def test_listeners_merge_the_addresses_of_one_port_and_process() -> None:
    rows = [
        {"protocol": "tcp", "address": "0.0.0.0", "port": 22, "pid": 611, "process": "sshd"},
        {"protocol": "tcp", "address": "::", "port": 22, "pid": 611, "process": "sshd"},
        {"protocol": "tcp", "address": "127.0.0.1", "port": 5432, "pid": 900, "process": "postgres"},
        {"protocol": "tcp", "address": "::1", "port": 5432, "pid": 900, "process": "postgres"},
        {"protocol": "udp", "address": "127.0.0.1", "port": 5432, "pid": 77, "process": "dnsmasq"},
        {"protocol": "tcp", "address": "0.0.0.0", "port": 8080, "pid": None, "process": None},
    ]
    merged = [(e.port, e.protocol, e.process, e.addresses, e.pids) for e in listeners(rows)]
    assert merged == [
        (22, "tcp", "sshd", ["0.0.0.0:22", "[::]:22"], [611]),
        (5432, "tcp", "postgres", ["127.0.0.1:5432", "[::1]:5432"], [900]),
        (5432, "udp", "dnsmasq", ["127.0.0.1:5432"], [77]),
        (8080, "tcp", None, ["0.0.0.0:8080"], []),
    ]


def test_a_host_with_many_listeners_shows_the_first_and_counts_the_rest() -> None:
    ports = [{"protocol": "tcp", "address": "0.0.0.0", "port": 1000 + i, "pid": 9, "process": "x"} for i in range(27)]
    text = on_terminal(lambda c: print_host_report(c, HostReport("check-1", ports=ports)))
    assert "0.0.0.0:1024" in text and "0.0.0.0:1025" not in text
    assert "… and 2 more listeners (wk check --json lists them all)" in text


@contextmanager
def dual_stack_listener() -> Iterator[int]:
    """This process listening on one port on 0.0.0.0 and, separately, on [::]."""
    with ExitStack() as stack:
        v4 = stack.enter_context(socket.socket(socket.AF_INET))
        v4.bind(("0.0.0.0", 0))
        port = int(v4.getsockname()[1])
        try:
            v6 = stack.enter_context(socket.socket(socket.AF_INET6))
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            v6.bind(("::", port))
        except OSError as exc:
            missing_backend(f"IPv6 on this host: {exc}")
        v4.listen()
        v6.listen()
        yield port


def test_wk_check_shows_each_listener_once_with_its_addresses(rt: App) -> None:
    with dual_stack_listener() as port:
        found = call(rt, "listening_ports")
        assert found.ok, found.error
        text = on_terminal(lambda c: print_host_report(c, HostReport("check-1", ports=found.result["ports"])))
    rows = [line for line in text.splitlines() if f":{port}" in line]
    assert len(rows) == 1, text
    assert f"0.0.0.0:{port}, [::]:{port}" in rows[0] and "python" in rows[0]


def test_list_logs_finds_the_allowlists_logs_newest_first_with_their_services(rt: App, log_dir: Path) -> None:
    (log_dir / "app").mkdir()
    (log_dir / "app" / "app.log").write_text("x\n")
    (log_dir / "syslog").write_text("x\n")
    (log_dir / "app.log.2.gz").write_bytes(b"")
    (log_dir / "notes.txt").write_text("x\n")
    old = log_dir / "billing.log"
    old.write_text("x\n")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    result = call(rt, "list_logs")
    assert result.ok, result.error
    logs = result.result["logs"]
    assert [(Path(x["path"]).name, x["service"]) for x in logs][-1] == ("billing.log", "billing")  # oldest last
    assert {(Path(x["path"]).name, x["service"]) for x in logs} == {
        ("app.log", "app"),
        ("syslog", "syslog"),
        ("billing.log", "billing"),
    }
    recent = call(rt, "list_logs", within_minutes=60).result["logs"]
    assert {x["service"] for x in recent} == {"app", "syslog"} and all(x["ago_s"] < 3600 for x in recent)


def test_a_real_check_flags_a_burner_and_an_error_burst(rt: App, log_dir: Path) -> None:
    (log_dir / "app.log").write_text("".join(f"ERROR upstream timed out #{i}\n" for i in range(30)))
    with cpu_burner() as burner:
        report = run_check(rt.invoker, rt.settings.read_roots, "tester")
    found = {f.kind: f for f in report.findings}
    # Other processes may pin a core too on a busy host: the burner must be among them.
    assert burner.pid in [f.evidence["pid"] for f in report.findings if f.kind == "process_cpu"], report.findings
    assert "log_errors" in found and "burst of 30 error lines" in found["log_errors"].message
    # At least a warning; the host itself may add a critical finding while the suite loads it.
    assert report.severity in ("warn", "crit") and report.verdict.startswith(f"{report.severity.upper()}: ")
    assert report.errors == []
    rows = rt.ledger.rows(session_id=report.session_id)
    assert {r["tool_name"] for r in rows} == {
        "host_status",
        "top_processes",
        "listening_ports",
        "process_table",
        "mounts",
        "kernel_log",
        "list_logs",
        "tail_file",
    }
    assert all(r["status"] == "succeeded" for r in rows)
    assert report.duration_s < 10


def test_a_spinner_starved_on_a_saturated_host_still_pins_a_core(rt: App) -> None:
    """One spinner more than there are cores: each gets a share of one, each wants a whole one."""
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
        for _ in range((os.cpu_count() or 1) + 1)
    ]
    try:
        assert wait_for(lambda: all(sum(psutil.Process(p.pid).cpu_times()[:2]) > 0.2 for p in spinners), timeout=30)
        top = call(rt, "top_processes", by="cpu", n=20, sample_seconds=1.0).result
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    rows = {r["pid"]: r for r in top["processes"]}
    ours = [rows[p.pid] for p in spinners if p.pid in rows]
    assert len(ours) == len(spinners)  # ranked by demand, every spinner is near the top
    assert all(r["cpu_demand_percent"] >= 90 for r in ours), ours
    assert min(r["cpu_percent"] for r in ours) < 85  # the cores are shared: at least one gets less than it wants
    flagged = {f.evidence["pid"] for f in process_findings(top) if f.kind == "process_cpu"}
    assert {p.pid for p in spinners} <= flagged


def test_among_processes_spinning_alike_the_newest_is_blamed() -> None:
    from watchkeeper.evidence.report import Culprit
    from watchkeeper.evidence.report import Finding as Fact
    from watchkeeper.evidence.rules_processes import _spinner

    def hot(pid: int, used: float, demand: float, started: str) -> Fact:
        row = {"pid": pid, "cpu_percent": used, "cpu_demand_percent": demand, "started_at": started}
        return Fact(
            kind="process_cpu",
            severity="warn",
            message="",
            entity=Culprit(kind="process", name=f"p{pid}", pid=pid),
            data=row,
        )

    nightly = hot(1, 70, 99, "2026-11-27T01:00:00+00:00")
    new = hot(2, 60, 98, "2026-11-28T03:00:00+00:00")
    idle_ish = hot(3, 85, 85, "2026-11-28T03:01:00+00:00")
    blamed, alike = _spinner([nightly, new, idle_ish])
    assert blamed is new and alike == 2  # 85 % wanted is not spinning alike with 98-99 %
    assert _spinner([nightly])[0] is nightly


def test_a_memory_investigation_never_blames_watchkeeper(rt: App) -> None:
    """This process is watchkeeper: with a gigabyte of ballast it is the biggest memory holder on a
    quiet host, and the memory triage must look past it."""
    from watchkeeper.evidence import triage
    from watchkeeper.evidence.report import Symptom

    ballast = bytearray(1024 * 2**20)
    for i in range(0, len(ballast), 4096):  # touched: resident, not just reserved
        ballast[i] = 1
    symptom = Symptom(alertname="HostOutOfMemory", labels={"instance": "localhost:9100", "job": "node"})
    report = triage.investigate(rt.settings, rt.invoker, symptom)
    blamed = [h.culprit.pid for h in report.hypotheses if h.culprit is not None]
    assert os.getpid() not in blamed
    assert not [f for f in report.findings if f.entity is not None and f.entity.pid == os.getpid()]
    del ballast


def test_a_port_is_looked_for_here_only_when_the_alert_is_about_this_host(rt: App) -> None:
    """An alert on db-9:PORT says nothing of what listens on PORT here: no "nothing listens" finding for
    another host (which would blame a local service), but one for this host, by address or by name."""
    from watchkeeper.evidence import triage
    from watchkeeper.evidence.report import Symptom

    port = free_port()  # nothing listens on it here

    def kinds(instance: str) -> set[str]:
        symptom = Symptom(alertname="ServiceDown", labels={"instance": instance, "severity": "critical"})
        return {f.kind for f in triage.investigate(rt.settings, rt.invoker, symptom).findings}

    assert "port_not_listening" not in kinds(f"db-9.example.net:{port}")
    assert "port_not_listening" in kinds(f"127.0.0.1:{port}")
    assert "port_not_listening" in kinds(f"{socket.gethostname()}:{port}")


def test_a_real_check_flags_zombies_under_their_parent(rt: App) -> None:
    """The sweep's facts reach `wk check` too: a parent that never reaps its children is named."""
    code = "import os, time\nfor _ in range(25):\n    os.fork() or os._exit(0)\ntime.sleep(60)\n"
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 20
        while sum(c.status() == psutil.STATUS_ZOMBIE for c in psutil.Process(parent.pid).children()) < 25:
            assert time.monotonic() < deadline, "the zombies did not appear"
            time.sleep(0.1)
        report = run_check(rt.invoker, rt.settings.read_roots, "tester")
    finally:
        parent.kill()
        parent.wait()
    zombies = [f for f in report.findings if f.kind == "zombies" and f.evidence.get("ppid") == parent.pid]
    assert zombies and zombies[0].severity == "warn" and "25 zombie processes" in zombies[0].message
