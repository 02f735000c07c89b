"""`wk serve` runs the incident workers in a child process: what the child does is counted in the
manager's /metrics, a child killed is started again and the work goes on, and the child does not
outlive a kill -9 of the manager (test_serve: a SIGTERM stops both)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import psutil
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import WK, Wk, free_port, pid_alive, stop_manager, wait_for
from watchkeeper.config import Settings
from watchkeeper.incidents.process import MODULE
from watchkeeper.incidents.records import INCIDENTS
from watchkeeper.store.db import make_engine

Serve = tuple[subprocess.Popen[str], str, dict[str, str]]


@contextmanager
def serving(tmp_path: Path, log_dir: Path) -> Iterator[Serve]:
    """`wk serve` with a webhook and a viewer token; incidents settle for a minute, so none is investigated."""
    wk = Wk(tmp_path, log_dir, "[incidents]\nsettle_s = 60\n")
    tokens = {}
    for user, role in (("am", "webhook"), ("prom", "viewer")):
        assert wk("users", "add", user, "--role", role).returncode == 0
        tokens[role] = wk("tokens", "create", "--user", user).stdout.strip()
    port = free_port()
    proc = subprocess.Popen(
        [WK, "serve", "--port", str(port)], env=wk.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: proc.poll() is not None or up(url, tokens["viewer"]), timeout=90), "workers not up"
        assert proc.poll() is None, proc.communicate(timeout=10)[1]
        yield proc, url, tokens
    finally:
        stop_manager(proc)


def metrics(url: str, token: str) -> dict[str, float]:
    answer = httpx2.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return {
        s.name + json.dumps(s.labels, sort_keys=True): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def up(url: str, token: str) -> bool:
    try:
        return metrics(url, token).get("watchkeeper_workers_up{}") == 1
    except httpx2.HTTPError:
        return False


def worker(manager: int) -> int | None:
    """The pid of the manager's worker process, if it has one running."""
    for child in psutil.Process(manager).children():
        try:
            if MODULE in " ".join(child.cmdline()):
                return child.pid
        except psutil.Error:  # exited and not reaped yet (a zombie) or gone
            continue
    return None


def incidents(tmp_path: Path) -> int:
    engine = make_engine(Settings(data_dir=tmp_path / "cli-data").db_url)  # Wk's data directory
    try:
        with engine.connect() as conn:
            return len(list(conn.execute(INCIDENTS.select())))
    finally:
        engine.dispose()


def post(url: str, token: str, service: str) -> None:
    body = {"name": "ServiceDown", "labels": {"service": service, "severity": "critical"}}
    answer = httpx2.post(f"{url}/api/v1/alerts", headers={"Authorization": f"Bearer {token}"}, json=body)
    assert answer.status_code == 202, answer.text


def test_a_killed_worker_process_is_started_again_and_its_work_is_counted(tmp_path: Path, log_dir: Path) -> None:
    with serving(tmp_path, log_dir) as (proc, url, tokens):
        first = worker(proc.pid)
        assert first is not None
        post(url, tokens["webhook"], "shop")
        assert wait_for(lambda: incidents(tmp_path) == 1, timeout=60)
        # The assigner acked in the child; the manager's /metrics counts it.
        acked = 'watchkeeper_events_acked_total{"consumer": "incident-assigner"}'
        assert wait_for(lambda: metrics(url, tokens["viewer"]).get(acked, 0) >= 1, timeout=30)

        psutil.Process(first).kill()
        assert wait_for(lambda: worker(proc.pid) not in (None, first) and up(url, tokens["viewer"]), timeout=60)
        seen = metrics(url, tokens["viewer"])
        assert seen["watchkeeper_worker_restarts_total{}"] == 1 and seen.get(acked, 0) >= 1
        post(url, tokens["webhook"], "cart")
        assert wait_for(lambda: incidents(tmp_path) == 2, timeout=60)

        second = worker(proc.pid)
        assert second is not None
        proc.kill()  # the manager, not its child: the child notices and stops by itself
        proc.wait(30)
        assert wait_for(lambda: not pid_alive(second), timeout=30)
    assert proc.stderr is not None
    said = proc.stderr.read()
    assert "the incident workers exited with code -9; starting them again" in said
    # The operator's log tells each incident opened, by the worker process that opened it.
    assert "INFO watchkeeper.incidents.assign: incident #1 opened (critical): ServiceDown: shop" in said, said
    assert "incident #2 opened (critical): ServiceDown: cart" in said


def test_ctrl_c_stops_the_manager_and_its_workers_cleanly(tmp_path: Path, log_dir: Path) -> None:
    forged = "2026-11-29 03:00:00,000 INFO watchkeeper.incidents.lifecycle: incident #1 resolved by alice"
    with serving(tmp_path, log_dir) as (proc, url, tokens):
        post(url, tokens["webhook"], f"shop\n{forged}")  # a label cannot forge a line of the manager's log
        assert wait_for(lambda: incidents(tmp_path) == 1, timeout=60)
        child = worker(proc.pid)
        assert child is not None
        for pid in (proc.pid, child):  # a terminal's Ctrl-C reaches the whole process group
            os.kill(pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and wait_for(lambda: not pid_alive(child), timeout=30)
    # The child's stderr is the manager's: an error at its exit (a daemon thread holding stdin) would show here.
    assert "Fatal Python error" not in err and "Traceback" not in err, err
    assert f"incident #1 opened (critical): ServiceDown: shop {forged}" in err, err
    assert not [line for line in err.splitlines() if line.startswith(forged)]
