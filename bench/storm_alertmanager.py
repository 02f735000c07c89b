"""The anchor of the storm benchmark: the real Alertmanager (Debian's prometheus-alertmanager)
taking the same alerts on its own `/api/v2/alerts`, and the notifications it makes of them."""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from bench.api import pct
from bench.storm_data import FIRING_ENDS_AT, GROUP_BY, RECEIVER
from tests.conftest import require_binary
from tests.helpers import free_port, ready_process, wait_for

GROUP_WAIT_S = 1
GROUP_INTERVAL_S = 5


def peak_rss(pid: int) -> int:
    """Bytes, the kernel's high-water mark of the resident set (VmHWM): psutil reports only the
    current RSS, which a sampler could miss the peak of."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM for pid {pid}")


@dataclass
class RunningAlertmanager:
    url: str
    pid: int

    def notifications(self) -> int:
        """Notifications Alertmanager has sent, by its own count (`alertmanager_notifications_total`)."""
        text = httpx2.get(f"{self.url}/metrics", timeout=10).text
        return sum(
            int(float(line.rsplit(" ", 1)[1]))
            for line in text.splitlines()
            if line.startswith("alertmanager_notifications_total{")
        )

    def settled_notifications(self, timeout: float = 120.0) -> int:
        """The count once it has stood still for longer than a group_interval: every group flushed."""
        last, since = self.notifications(), time.monotonic()
        deadline = since + timeout
        while time.monotonic() - since <= GROUP_INTERVAL_S + 1 and time.monotonic() < deadline:
            time.sleep(0.5)
            if (now := self.notifications()) != last:
                last, since = now, time.monotonic()
        return last

    def peak_rss(self) -> int:
        return peak_rss(self.pid)


def _config(webhook_url: str) -> str:
    return json.dumps(  # YAML is a superset of JSON
        {
            "route": {
                "receiver": RECEIVER,
                "group_by": list(GROUP_BY),
                "group_wait": f"{GROUP_WAIT_S}s",
                "group_interval": f"{GROUP_INTERVAL_S}s",
                "repeat_interval": "4h",
            },
            "receivers": [{"name": RECEIVER, "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}],
        }
    )


# The webhook receiver when the caller names none: answers 200 and forgets, in a process of its own
# so that serving Alertmanager's notifications takes no time from the senders being measured.
_SINK = """
import http.server, sys

class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink)
print("ready", flush=True)
server.serve_forever()
"""


@contextlib.contextmanager
def start_alertmanager(tmp: Path, webhook_url: str | None = None) -> Iterator[RunningAlertmanager]:
    """The real Alertmanager on a free loopback port, routing `group_by: [alertname, service]`
    (group_wait 1s, group_interval 5s) to `webhook_url`, or to a sink that answers 200 when None."""
    binary = require_binary("prometheus-alertmanager")
    with contextlib.ExitStack() as stack:
        if webhook_url is None:
            sink_port = free_port()
            stack.enter_context(ready_process([sys.executable, "-c", _SINK, str(sink_port)]))
            webhook_url = f"http://127.0.0.1:{sink_port}/"
        port = free_port()
        (tmp / "alertmanager.yml").write_text(_config(webhook_url))
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp / 'alertmanager.yml'}",
                f"--storage.path={tmp / 'alertmanager'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # alone: no gossip port, no peers to wait for
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        stack.callback(proc.wait, 15)
        stack.callback(proc.terminate)
        am = RunningAlertmanager(f"http://127.0.0.1:{port}", proc.pid)

        def ready() -> bool:
            with contextlib.suppress(httpx2.HTTPError):
                return httpx2.get(f"{am.url}/-/ready", timeout=1).status_code == 200
            return False

        if not wait_for(ready, timeout=30):
            raise RuntimeError(f"Alertmanager did not start on {am.url}")
        yield am


def postable(alert: dict[str, Any]) -> dict[str, Any]:
    """A webhook alert as a PostableAlert for `/api/v2/alerts`; a firing one has no endsAt (Alertmanager
    then ends it after its resolve_timeout unless it is sent again)."""
    keep = {k: alert[k] for k in ("labels", "annotations", "startsAt", "generatorURL")}
    return keep if alert["endsAt"] == FIRING_ENDS_AT else {**keep, "endsAt": alert["endsAt"]}


def alertmanager_ingest(am_url: str, alerts: list[dict[str, Any]], batch: int, senders: int) -> dict[str, float]:
    """POST `alerts` to Alertmanager's `/api/v2/alerts`, `batch` per request, from `senders` threads
    each with its own keep-alive connection. Returns alerts/s over the whole run, p50/p99 POST
    latency in ms, and how many POSTs got no 2xx (a connection error counts: nothing was taken)."""
    batches = [[postable(a) for a in alerts[i : i + batch]] for i in range(0, len(alerts), batch)]
    next_batch = iter(batches)
    lock = threading.Lock()
    latencies: list[float] = []
    failed = 0

    def send() -> None:
        nonlocal failed
        with httpx2.Client(base_url=am_url, timeout=30) as client:
            while True:
                with lock:
                    body = next(next_batch, None)
                if body is None:
                    return
                t0 = time.perf_counter()
                try:
                    ok = client.post("/api/v2/alerts", json=body).is_success
                except httpx2.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append(elapsed)
                    failed += not ok

    threads = [threading.Thread(target=send) for _ in range(senders)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - t0
    return {
        "alerts": len(alerts),
        "posts": len(batches),
        "alerts_per_s": len(alerts) / seconds,
        "p50_ms": statistics.median(latencies),
        "p99_ms": pct(latencies, 0.99),
        "non_2xx": failed,
    }


def alertmanager_run(alerts: list[dict[str, Any]], batch: int, senders: int) -> dict[str, float]:
    """One fresh Alertmanager takes `alerts`: the ingest figures, the notifications it sent once
    every group flushed, and its peak RSS in bytes."""
    with tempfile.TemporaryDirectory() as tmp, start_alertmanager(Path(tmp)) as am:
        figures = alertmanager_ingest(am.url, alerts, batch, senders)
        return {**figures, "notifications": am.settled_notifications(), "peak_rss": am.peak_rss()}
