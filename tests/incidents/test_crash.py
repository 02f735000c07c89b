"""kill -9 of a real `wk serve` at the two worst moments, on SQLite and on PostgreSQL: after it answered
2xx for alerts it had not processed yet, and in the middle of an investigation. After a restart
nothing is lost and nothing is done twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
from sqlalchemy import select

from tests.helpers import WK, Wk, free_port, wait_for
from watchkeeper.incidents.ingest import DELIVERIES
from watchkeeper.incidents.records import ALERTS, INCIDENTS, INVESTIGATIONS
from watchkeeper.store.db import make_engine


@contextmanager
def manager(wk: Wk, **env: str) -> Iterator[str]:
    """`wk serve` on a free port until the block ends, then kill -9 of it and its worker process (as a
    crash of the host or an OOM kill of the unit's cgroup would)."""
    port = free_port()
    proc = subprocess.Popen(
        [WK, "serve", "--port", str(port)],
        env={**wk.env, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, the worker process in it
    )
    url = f"http://127.0.0.1:{port}"
    try:
        up = wait_for(lambda: proc.poll() is not None or _answers(url), timeout=60)
        assert up and proc.poll() is None, f"wk serve did not start: {proc.communicate(timeout=10)[1]}"
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # no shutdown, no lifespan, no flush, in either process
        proc.wait(30)


def _answers(url: str) -> bool:
    try:
        return httpx2.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx2.HTTPError:
        return False


def rows(db_url: str, table: Any) -> list[Any]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(table)))
    finally:
        engine.dispose()


def setup(tmp_path: Path, log_dir: Path, db_url: str) -> tuple[Wk, str, str]:
    wk = Wk(tmp_path, log_dir, "[triage.services.shop]\ndepends_on = []\n")
    wk.env["WK_DATABASE_URL"] = db_url
    assert wk("users", "add", "am", "--role", "webhook").returncode == 0
    token = wk("tokens", "create", "--user", "am").stdout.strip()
    return wk, token, db_url


def alert(n: int) -> dict[str, Any]:
    return {"name": "HighErrorRate", "labels": {"service": "shop", "instance": f"web-{n}:8080", "severity": "critical"}}


def test_alerts_answered_but_not_processed_are_processed_once_after_a_kill(
    tmp_path: Path, log_dir: Path, db_url: str
) -> None:
    wk, token, url_db = setup(tmp_path, log_dir, db_url)
    auth = {"Authorization": f"Bearer {token}"}
    # This manager only receives (incidents.workers = false): whatever it answered is still unprocessed at the kill.
    with manager(wk, WK_INCIDENTS__WORKERS="false") as url:
        for n in range(3):
            answer = httpx2.post(f"{url}/api/v1/alerts", headers=auth, content=json.dumps(alert(n)))
            assert answer.status_code == 202, answer.text
    assert [d.status for d in rows(url_db, DELIVERIES)] == ["accepted"] * 3
    assert rows(url_db, INCIDENTS) == []
    with manager(wk, WK_INCIDENTS__SETTLE_S="60") as url:
        assert wait_for(lambda: [d.status for d in rows(url_db, DELIVERIES)] == ["processed"] * 3, timeout=60)
        assert len(rows(url_db, INCIDENTS)) == 1
        assert {a.received_count for a in rows(url_db, ALERTS)} == {1} and len(rows(url_db, ALERTS)) == 3


def test_an_investigation_killed_midway_resumes_and_reports_once(tmp_path: Path, log_dir: Path, db_url: str) -> None:
    wk, token, url_db = setup(tmp_path, log_dir, db_url)
    auth = {"Authorization": f"Bearer {token}"}
    # A memory symptom samples the host's growth for triage.sample_seconds: a long enough window to kill in.
    slow = {"WK_INCIDENTS__SETTLE_S": "0", "WK_INCIDENTS__LEASE_S": "3", "WK_TRIAGE__SAMPLE_SECONDS": "4"}
    memory = {"name": "HostOutOfMemory", "labels": {"instance": "db-1:9100", "severity": "critical"}}

    def investigations() -> list[Any]:
        return rows(url_db, INVESTIGATIONS)

    with manager(wk, **slow) as url:
        assert httpx2.post(f"{url}/api/v1/alerts", headers=auth, content=json.dumps(memory)).status_code == 202
        assert wait_for(lambda: [i.status for i in investigations()] == ["running"], timeout=60)
    (killed,) = investigations()
    assert (killed.status, killed.attempts, killed.reports_json) == ("running", 1, None)
    with manager(wk, **slow):
        assert wait_for(lambda: [i.status for i in investigations()] == ["done"], timeout=120)
    (done,) = investigations()
    assert done.attempts == 2 and len(json.loads(done.reports_json)) == 1
    (incident,) = rows(url_db, INCIDENTS)
    assert incident.status == "diagnosed"
