"""Our fingerprint is Alertmanager's: checked against the real Alertmanager (Debian package), both on the
alerts its API lists and on the webhook it really sends, which normalise() must read to the same ids."""

from __future__ import annotations

import copy
import http.server
import json
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_binary
from tests.helpers import free_port, wait_for
from tests.observability.conftest import ready
from watchkeeper.alerts.fingerprint import fingerprint
from watchkeeper.alerts.normalise import normalise

# Label sets chosen to catch the ways a port can go wrong: byte order of names (upper case sorts first),
# multi-byte UTF-8 values, a value holding the separator's neighbours, and an empty value Alertmanager drops.
ALERTS: list[dict[str, Any]] = [
    {
        "labels": {"alertname": "DiskFull", "instance": "db-1:9100", "job": "node", "mountpoint": "/var"},
        "annotations": {"summary": "/var is 97% full"},
        "generatorURL": "http://prometheus:9090/graph?g0.expr=disk",
    },
    {"labels": {"alertname": "Données", "service": "数据库", "emoji": "🔥é", "severity": "critical"}},
    {"labels": {"alertname": "Order", "Zone": "B", "zone": "a", "_meta": "x", "a": "b=c,d"}},
    {"labels": {"alertname": "EmptyTeam", "team": "", "instance": "[::1]:9100"}},
]


def test_the_empty_label_set_is_the_fnv_offset_basis() -> None:
    assert fingerprint({}) == "cbf29ce484222325"


def test_label_order_does_not_matter_and_the_separator_keeps_names_and_values_apart() -> None:
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"})
    assert fingerprint({"a": "bc"}) != fingerprint({"ab": "c"})
    assert len(fingerprint({"alertname": "x"})) == 16


def test_values_pinned_from_alertmanager_0_25() -> None:
    # What Alertmanager 0.25 (Debian) listed in /api/v2/alerts for these label sets; the live test below
    # checks the same against whatever Alertmanager is installed.
    labels = {"alertname": "DiskFull", "instance": "db-1:9100", "mountpoint": "/var", "severity": "critical"}
    assert fingerprint(labels) == "373557f13ed44f5e"
    assert fingerprint({"alertname": "Données", "service": "数据库", "emoji": "🔥é"}) == "e619ba3ab5625f4a"


# -- the real Alertmanager --------------------------------------------------------------------------


@dataclass
class LiveAlertmanager:
    url: str
    webhooks: list[dict[str, Any]] = field(default_factory=list)  # the bodies its webhook receiver got

    def post(self, alerts: list[dict[str, Any]]) -> None:
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as resp:
            assert resp.status == 200

    def listed(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as resp:
            alerts: list[dict[str, Any]] = json.loads(resp.read())
        return alerts

    def webhook_for(self, alertname: str, status: str) -> dict[str, Any] | None:
        return next(
            (w for w in self.webhooks if w["status"] == status and w["groupLabels"].get("alertname") == alertname),
            None,
        )


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAlertmanager]:
    """Alertmanager alone, grouping by alertname, its webhook pointing at a receiver in this process."""
    binary = require_binary("prometheus-alertmanager")
    tmp = tmp_path_factory.mktemp("am")
    webhooks: list[dict[str, Any]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            webhooks.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    port = free_port()
    config = Path(tmp / "am.yml")
    config.write_text(
        "route: {receiver: wk, group_by: [alertname], group_wait: 0s, group_interval: 1s, repeat_interval: 1h}\n"
        f"receivers: [{{name: wk, webhook_configs: [{{url: 'http://127.0.0.1:{receiver.server_address[1]}/'}}]}}]\n"
    )
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    live = LiveAlertmanager(f"http://127.0.0.1:{port}", webhooks)
    try:
        assert wait_for(lambda: ready(f"{live.url}/-/ready"), timeout=30), "Alertmanager did not start"
        live.post(ALERTS)
        yield live
    finally:
        proc.terminate()
        proc.wait(15)
        receiver.shutdown()
        receiver.server_close()


def test_fingerprints_equal_the_ones_alertmanager_lists(alertmanager: LiveAlertmanager) -> None:
    listed = alertmanager.listed()
    assert {a["labels"]["alertname"] for a in listed} >= {a["labels"]["alertname"] for a in ALERTS}
    for alert in listed:
        assert alert["fingerprint"] == fingerprint(alert["labels"]), alert["labels"]
    # Alertmanager drops a label whose value is empty before hashing: the label set we were given, minus
    # its empty values, hashes to Alertmanager's fingerprint.
    ours = {fingerprint({k: v for k, v in a["labels"].items() if v}) for a in ALERTS}
    assert ours <= {a["fingerprint"] for a in listed}


def test_normalise_reads_the_real_webhook_to_alertmanagers_fingerprints(alertmanager: LiveAlertmanager) -> None:
    names = [a["labels"]["alertname"] for a in ALERTS]
    assert wait_for(lambda: all(alertmanager.webhook_for(n, "firing") for n in names), timeout=30), "no webhook"
    by_labels = {json.dumps(a["labels"], sort_keys=True): a["fingerprint"] for a in alertmanager.listed()}
    for name in names:
        body = alertmanager.webhook_for(name, "firing")
        assert body is not None
        batch = normalise("alertmanager", body)
        assert batch.group_key == body["groupKey"] == f'{{}}:{{alertname="{name}"}}'
        assert batch.receiver == "wk" and batch.truncated == 0
        (alert,) = batch.alerts
        assert alert.fingerprint == by_labels[json.dumps(alert.labels, sort_keys=True)]
        assert alert.status == "firing" and alert.ends_at is None  # Alertmanager sent endsAt 0001-01-01
        assert alert.starts_at.tzinfo is not None and alert.group_key == body["groupKey"]
        # Without the sender's fingerprint, ours is computed from the labels, and is the same.
        unsigned = copy.deepcopy(body)
        del unsigned["alerts"][0]["fingerprint"]
        assert normalise("alertmanager", unsigned).alerts[0].fingerprint == alert.fingerprint


def test_a_resolved_webhook_normalises_to_a_resolved_alert_with_its_end(alertmanager: LiveAlertmanager) -> None:
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    alert: dict[str, Any] = {"labels": {"alertname": "ResolvedSoon", "host": "web-2"}, "startsAt": started.isoformat()}
    alertmanager.post([alert])
    assert wait_for(lambda: alertmanager.webhook_for("ResolvedSoon", "firing"), timeout=30), "no firing webhook"
    ended = started + timedelta(minutes=1)
    alertmanager.post([{**alert, "endsAt": ended.isoformat()}])
    assert wait_for(lambda: alertmanager.webhook_for("ResolvedSoon", "resolved"), timeout=30), "no resolved webhook"
    body = alertmanager.webhook_for("ResolvedSoon", "resolved")
    (resolved,) = normalise("alertmanager", body).alerts
    assert resolved.status == "resolved"
    assert resolved.starts_at == started and resolved.ends_at == ended
    assert resolved.fingerprint == fingerprint(alert["labels"]) and resolved.target.host == "web-2"
