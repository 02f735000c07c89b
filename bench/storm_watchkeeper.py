"""The watchkeeper side of the storm benchmark: a real `wk serve` (its own process, a fresh data
directory, SQLite unless a database URL is given) taking the storm's webhook posts from concurrent
senders, then folding them into incidents, investigating each once and messaging a DingTalk-format
sink. What it measures: ingest (alerts/s, POST latency, non-2xx), messages, incidents,
investigations, grouping against the truth, the times from the first alert to the first and to
the last report, and the peak RSS of the manager and its worker process."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import psutil
from sqlalchemy import func, select

from bench.api import pct
from bench.storm_alertmanager import peak_rss
from bench.storm_data import Storm, pairwise
from tests.helpers import free_port, ready_process, wait_for
from watchkeeper.app import open_app
from watchkeeper.config import Settings
from watchkeeper.incidents.ingest import DELIVERIES
from watchkeeper.incidents.records import ALERTS, INCIDENTS, INVESTIGATIONS, NOTIFICATIONS
from watchkeeper.policy.access import Access
from watchkeeper.policy.users import add_user, create_token
from watchkeeper.store.db import make_engine

# A DingTalk robot that says ok to everything, in a process of its own, counting what it got.
_DINGTALK = """
import http.server, json, sys
got = 0

class Robot(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global got
        self.rfile.read(int(self.headers["Content-Length"]))
        got += 1
        self._answer(json.dumps({"errcode": 0, "errmsg": "ok"}))

    def do_GET(self):
        self._answer(str(got))

    def _answer(self, text):
        data = text.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Robot)
print("ready", flush=True)
server.serve_forever()
"""


@dataclass
class Manager:
    url: str
    pid: int
    webhook: str  # a webhook token
    db_url: str
    robot: str  # the sink's URL

    def messages(self) -> int:
        return int(httpx2.get(self.robot, timeout=10).text)


@contextlib.contextmanager
def wk_manager(
    tmp: Path, storm: Storm, settle_s: float, db_url: str | None, investigators: int | None = None
) -> Iterator[Manager]:
    """`wk serve` with the storm's services and their dependencies, messaging a local DingTalk robot."""
    robot_port, port = free_port(), free_port()
    data = tmp / "wk"
    data.mkdir()
    services = "".join(
        f'[triage.services."{name}"]\ndepends_on = {json.dumps(deps)}\n' for name, deps in storm.services.items()
    )
    config = data / "config.toml"
    config.write_text(
        f'[notify]\nurls = ["dingtalk+http://127.0.0.1:{robot_port}/robot/send?access_token=bench"]\n'
        f"[incidents]\nsettle_s = {settle_s}\n"
        + (f"investigators = {investigators}\n" if investigators else "")
        + services
    )
    settings = Settings(data_dir=data, database_url=db_url)
    core = open_app(settings, import_mcp=False)
    add_user(core.engine, "alertmanager", Access.WEBHOOK)
    token, _ = create_token(core.engine, "alertmanager", timedelta(hours=2))
    add_user(core.engine, "bench", Access.VIEWER)
    viewer, _ = create_token(core.engine, "bench", timedelta(hours=2))
    core.close()
    wk = shutil.which("wk", path=str(Path(sys.executable).parent)) or "wk"
    env = {**os.environ, "WK_DATA_DIR": str(data), "WK_CONFIG": str(config)}
    if db_url:
        env["WK_DATABASE_URL"] = db_url
    with ready_process([sys.executable, "-c", _DINGTALK, str(robot_port)]):
        server = subprocess.Popen([wk, "serve", "--port", str(port)], env=env, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            # A manager that has run for a while: its worker process is up before the storm comes.
            if not wait_for(lambda: _workers_up(url, viewer), timeout=60):
                raise RuntimeError(f"wk serve did not start on {url}, or its workers did not")
            yield Manager(url, server.pid, token, settings.db_url, f"http://127.0.0.1:{robot_port}/")
        finally:
            server.terminate()
            server.wait(60)


def _workers_up(url: str, viewer: str) -> bool:
    with contextlib.suppress(httpx2.HTTPError):
        scraped = httpx2.get(f"{url}/metrics", headers={"Authorization": f"Bearer {viewer}"}, timeout=1)
        return "\nwatchkeeper_workers_up 1.0" in scraped.text
    return False


def replay(manager: Manager, bodies: list[bytes], alerts: int, senders: int) -> dict[str, float]:
    """POST every body to the Alertmanager webhook from `senders` keep-alive clients at once."""
    latencies: list[list[float]] = [[] for _ in range(senders)]
    failed = [0] * senders
    headers = {"Authorization": f"Bearer {manager.webhook}", "Content-Type": "application/json"}

    def sender(i: int) -> None:
        with httpx2.Client(base_url=manager.url, headers=headers, timeout=60) as client:
            for body in bodies[i::senders]:
                t0 = time.perf_counter()
                answer = client.post("/api/v1/alerts/alertmanager", content=body)
                latencies[i].append((time.perf_counter() - t0) * 1000)
                failed[i] += not 200 <= answer.status_code < 300

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(senders)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    every = [ms for each in latencies for ms in each]
    return {
        "alerts_per_s": alerts / seconds,
        "posts": len(bodies),
        "p50_ms": pct(every, 0.50),
        "p99_ms": pct(every, 0.99),
        "non_2xx": float(sum(failed)),
        "seconds": seconds,
    }


def one_per_post(posts: list[dict[str, Any]]) -> list[bytes]:
    """Each alert of each post as a webhook post of its own (as a sender without batching would)."""
    return [json.dumps({**post, "alerts": [alert]}).encode() for post in posts for alert in post["alerts"]]


def _count(engine: Any, query: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def settled(manager: Manager, timeout: float) -> bool:
    """Every delivery assigned and every investigation ended."""
    engine = make_engine(manager.db_url)
    try:
        waiting = select(func.count()).select_from(DELIVERIES).where(DELIVERIES.c.status == "accepted")
        running = (
            select(func.count()).select_from(INVESTIGATIONS).where(INVESTIGATIONS.c.status.in_(("queued", "running")))
        )
        return wait_for(lambda: _count(engine, waiting) == 0 and _count(engine, running) == 0, timeout, interval=1.0)
    finally:
        engine.dispose()


def outcome(manager: Manager, storm: Storm) -> dict[str, float]:
    """Incidents, investigations, messages and grouping against the truth, once settled."""
    engine = make_engine(manager.db_url)
    try:
        with engine.connect() as conn:
            merged = dict(conn.execute(select(INCIDENTS.c.id, INCIDENTS.c.merged_into)).all())
            assigned = dict(conn.execute(select(ALERTS.c.fingerprint, ALERTS.c.incident_id)).all())
            live = [i for i, into in merged.items() if into is None]
            per_incident: dict[int, int] = dict(
                conn.execute(
                    select(INVESTIGATIONS.c.incident_id, func.count())
                    .where(INVESTIGATIONS.c.status.in_(("done", "failed")))
                    .group_by(INVESTIGATIONS.c.incident_id)
                ).all()
            )
            notifications = _count(engine, select(func.count()).select_from(NOTIFICATIONS))
    finally:
        engine.dispose()

    def final(incident: int | None) -> int | None:
        while incident is not None and merged.get(incident) is not None:
            incident = merged[incident]
        return incident

    got = {fp: final(inc) for fp, inc in assigned.items() if inc is not None}
    precision, recall, f1 = pairwise(storm.truth, got)
    return {
        "incidents": float(len(live)),
        "investigations": float(sum(per_incident.values())),
        "investigated_once": float(all(per_incident.get(i) == 1 for i in live)),
        "notifications": float(notifications),
        "messages": float(manager.messages()),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        # The manager and its worker process.
        "peak_rss": float(
            sum(peak_rss(p.pid) for p in [psutil.Process(manager.pid), *psutil.Process(manager.pid).children()])
        ),
    }


def report_times(manager: Manager, started: float, done: threading.Event) -> list[float]:
    """Seconds from the first POST to each incident's first report (the database polled every 0.1 s)
    until `done` is set."""
    engine = make_engine(manager.db_url)
    ended = INVESTIGATIONS.c.status.in_(("done", "failed"))
    diagnosed = select(func.count(INVESTIGATIONS.c.incident_id.distinct())).where(ended)
    times: list[float] = []
    try:
        while not done.wait(0.1):
            times += [time.perf_counter() - started] * (_count(engine, diagnosed) - len(times))
        return times
    finally:
        engine.dispose()


def watchkeeper_run(
    storm: Storm, groups: int, senders: int, settle_s: float, db_url: str | None, tmp: Path, investigators: int | None
) -> dict[str, dict[str, float]]:
    """The storm's first round of posts as one burst (then its resends), settled into incidents;
    then the same alerts one per POST into a fresh manager."""
    first_round = storm.posts[:groups]
    burst_alerts = sum(len(p["alerts"]) for p in first_round)
    encoded = [json.dumps(p).encode() for p in storm.posts]
    (tmp / "batched").mkdir()
    with wk_manager(tmp / "batched", storm, settle_s, db_url, investigators) as manager:
        times: list[float] = []
        done = threading.Event()
        started = time.perf_counter()
        watcher = threading.Thread(target=lambda: times.extend(report_times(manager, started, done)))
        watcher.start()
        burst = replay(manager, encoded[:groups], burst_alerts, senders)
        resent = replay(manager, encoded[groups:], sum(len(p["alerts"]) for p in storm.posts[groups:]), senders)
        settled(manager, 1200)
        done.set()
        watcher.join()
        reports = {"first_report_s": times[0], "last_report_s": times[-1]} if times else {}
        result = outcome(manager, storm) | {"first_report_s": float("inf"), "last_report_s": float("inf")} | reports
    if db_url is None:  # a fresh SQLite for the second run; a given database keeps the first run's rows
        (tmp / "single").mkdir()
        with wk_manager(tmp / "single", storm, settle_s, None) as manager:
            single = replay(manager, one_per_post(first_round), burst_alerts, senders)
    else:
        single = {}
    return {"burst": burst, "resent": resent, "single": single, "outcome": result}
