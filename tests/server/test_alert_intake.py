"""Alert intake on the real server: each sender's endpoint answers 202 only once the raw post is stored,
a signed post needs no token, a bad signature is 401 (and counts as a failed authentication), only a
webhook token (or an admin's) may post, and a malformed post is 400 naming the field and kept as rejected."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Row, select

from tests.conftest import make_settings
from tests.helpers import full_disk
from tests.server.conftest import Served, people, running, serve_core
from tests.server.test_api import is_problem
from watchkeeper.app import open_app
from watchkeeper.server.app import build_app
from watchkeeper.server.auth import FailureLimiter
from watchkeeper.store.models import AlertDelivery

ALERTMANAGER = {
    "version": "4",
    "groupKey": '{}:{alertname="DiskFull"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "watchkeeper",
    "groupLabels": {"alertname": "DiskFull"},
    "commonLabels": {"alertname": "DiskFull", "severity": "critical"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "DiskFull", "instance": "db-1:9100", "mountpoint": "/var", "severity": "critical"},
            "annotations": {"summary": "/var on db-1 is 97% full"},
            "startsAt": "2026-01-01T00:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph",
            "fingerprint": "5f1c0a9d3e2b4c71",
        }
    ],
}
GRAFANA = {
    "receiver": "watchkeeper",
    "status": "firing",
    "orgId": 1,
    "groupKey": '{}:{alertname="OrdersSlow"}',
    "groupLabels": {"alertname": "OrdersSlow"},
    "commonLabels": {},
    "commonAnnotations": {},
    "externalURL": "http://grafana:3000/",
    "version": "1",
    "truncatedAlerts": 0,
    "title": "[FIRING:1] OrdersSlow",
    "state": "alerting",
    "message": "orders is slow",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "OrdersSlow", "service": "orders", "severity": "warning"},
            "annotations": {"summary": "p99 over 2 s"},
            "startsAt": "2026-01-01T00:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://grafana:3000/alerting/grafana/abc/view",
            "fingerprint": "0c9f3b2a1d4e5f60",
            "silenceURL": "http://grafana:3000/alerting/silence/new",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"A": 2.4},
            "valueString": "[ var='A' value=2.4 ]",
        }
    ],
}
GENERIC = {"name": "CertExpiring", "labels": {"url": "https://pay.example.com"}, "status": "firing"}
ENDPOINTS = [
    ("/api/v1/alerts/alertmanager", ALERTMANAGER),
    ("/api/v1/alerts/grafana", GRAFANA),
    ("/api/v1/alerts", GENERIC),
]
SOURCES = [{"name": "am", "secret": "am-secret"}, {"name": "graf", "secret": "env:GRAFANA_HMAC"}]


def stored(served: Served, delivery_id: int) -> Row[Any]:
    with served.core.engine.connect() as conn:
        return conn.execute(select(AlertDelivery.__table__).where(AlertDelivery.id == delivery_id)).one()


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def signed(tmp_path: Path, log_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    monkeypatch.setenv("GRAFANA_HMAC", "grafana-secret")
    with serve_core(tmp_path, log_dir, alerts={"sources": SOURCES}) as served:
        yield served


def test_each_sender_is_answered_202_once_its_post_is_stored(served_on: Served) -> None:
    for path, payload in ENDPOINTS:
        raw = json.dumps(payload).encode()
        answer = served_on.post(path, "webhook", content=raw, headers={"Content-Type": "application/json"})
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert body["alerts"] == 1 and body["delivery_id"] > 0
        row = stored(served_on, body["delivery_id"])  # right after the answer, from another connection
        assert row.body == raw.decode() and row.sender == "webhook" and row.status != "rejected"
    admin = served_on.post("/api/v1/alerts", "admin", json=GENERIC)  # an admin may test the intake
    assert admin.status_code == 202 and stored(served_on, admin.json()["delivery_id"]).sender == "admin"


def test_only_a_webhook_token_posts_and_it_reads_nothing(served: Served) -> None:
    for who in ("viewer", "operator", "approver"):
        refused = is_problem(served.post("/api/v1/alerts", who, json=GENERIC), 403)
        assert "needs webhook" in str(refused["detail"])
    is_problem(served.post("/api/v1/alerts", json=GENERIC), 401)  # no token, no signature
    for path in ("/api/v1/alerts", "/api/v1/alerts/rejected", "/api/v1/incidents", "/api/v1/silences"):
        is_problem(served.get(path, "webhook"), 403)
    with served.client() as client:  # a signature header does not open the reading routes
        is_problem(client.get("/api/v1/alerts", headers={"X-Watchkeeper-Signature": "sha256=00"}), 401)


def test_a_signed_post_needs_no_token(signed: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = json.dumps(ALERTMANAGER).encode()
    ours = signed.post(
        "/api/v1/alerts/alertmanager",
        content=raw,
        headers={"X-Watchkeeper-Signature": f"sha256={sign('am-secret', raw)}"},
    )
    assert ours.status_code == 202, ours.text
    assert stored(signed, ours.json()["delivery_id"]).sender == "signed:am"
    stamp = str(int(time.time()))
    timed = {
        "X-Watchkeeper-Signature": f"sha256={sign('am-secret', stamp.encode() + b':' + raw)}",
        "X-Watchkeeper-Timestamp": stamp,
    }
    assert signed.post("/api/v1/alerts/alertmanager", content=raw, headers=timed).status_code == 202

    raw = json.dumps(GRAFANA).encode()
    plain = signed.post(
        "/api/v1/alerts/grafana", content=raw, headers={"X-Grafana-Alerting-Signature": sign("grafana-secret", raw)}
    )
    assert plain.status_code == 202, plain.text
    stamp = str(int(time.time()))
    stamped = signed.post(
        "/api/v1/alerts/grafana",
        content=raw,
        headers={
            "X-Grafana-Alerting-Signature": sign("grafana-secret", stamp.encode() + b":" + raw),
            "X-Grafana-Alerting-Signature-Timestamp": stamp,
        },
    )
    assert stamped.status_code == 202, stamped.text
    assert stored(signed, stamped.json()["delivery_id"]).sender == "signed:graf"


def test_a_bad_signature_is_401(signed: Served) -> None:
    raw = json.dumps(GENERIC).encode()
    cases = {
        "wrong secret": {"X-Watchkeeper-Signature": f"sha256={sign('guess', raw)}"},
        "other body": {"X-Watchkeeper-Signature": f"sha256={sign('am-secret', raw + b' ')}"},
        "no scheme": {"X-Watchkeeper-Signature": sign("am-secret", raw)},
        "stale": {
            "X-Grafana-Alerting-Signature": sign("grafana-secret", b"1000:" + raw),
            "X-Grafana-Alerting-Signature-Timestamp": "1000",
        },
        "stale, ours": {
            "X-Watchkeeper-Signature": f"sha256={sign('am-secret', b'1000:' + raw)}",
            "X-Watchkeeper-Timestamp": "1000",
        },
        "not a time": {"X-Watchkeeper-Signature": f"sha256={sign('am-secret', raw)}", "X-Watchkeeper-Timestamp": "now"},
        "time not signed": {
            "X-Watchkeeper-Signature": f"sha256={sign('am-secret', raw)}",
            "X-Watchkeeper-Timestamp": str(int(time.time())),
        },
    }
    for case, headers in cases.items():
        refused = is_problem(signed.post("/api/v1/alerts", content=raw, headers=headers), 401)
        assert refused["type"] == "urn:watchkeeper:problem:signature-invalid", case
    with signed.core.engine.connect() as conn:
        assert conn.execute(select(AlertDelivery.id)).first() is None  # nothing unsigned was stored


def test_bad_signatures_count_as_failed_authentications(tmp_path: Path, log_dir: Path) -> None:
    core = open_app(make_settings(tmp_path, log_dir, alerts={"sources": SOURCES[:1]}), import_mcp=False)
    try:
        people(core)
        with running(build_app(core, limiter=FailureLimiter(limit=2))) as url:
            served = Served(url, core)
            bad = {"X-Watchkeeper-Signature": "sha256=" + "0" * 64}
            assert [served.post("/api/v1/alerts", json=GENERIC, headers=bad).status_code for _ in range(3)] == [
                401,
                401,
                429,
            ]
    finally:
        core.close()


def test_an_address_held_back_for_bad_credentials_still_takes_good_ones(tmp_path: Path, log_dir: Path) -> None:
    # Alertmanager behind the proxy or NAT a noisy client shares must not lose its alerts to that client.
    core = open_app(make_settings(tmp_path, log_dir, alerts={"sources": SOURCES[:1]}), import_mcp=False)
    try:
        tokens = people(core)
        with running(build_app(core, limiter=FailureLimiter(limit=2))) as url:
            served = Served(url, core, tokens)
            raw = json.dumps(GENERIC).encode()
            bad = {"X-Watchkeeper-Signature": "sha256=" + "0" * 64}
            codes = [served.post("/api/v1/alerts", content=raw, headers=bad).status_code for _ in range(3)]
            assert codes == [401, 401, 429]
            with served.client() as client:
                wrong = client.post("/api/v1/alerts", content=raw, headers={"Authorization": "Bearer wk_wrong"})
            assert wrong.status_code == 429 and int(wrong.headers["retry-after"]) >= 1
            good = {"X-Watchkeeper-Signature": f"sha256={sign('am-secret', raw)}"}
            assert served.post("/api/v1/alerts", content=raw, headers=good).status_code == 202
            assert served.post("/api/v1/alerts", "webhook", content=raw).status_code == 202
            limited = served.post("/api/v1/alerts", content=raw, headers=bad)
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    finally:
        core.close()


def test_a_source_whose_secret_reads_empty_signs_nothing(
    tmp_path: Path, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAFANA_HMAC", "")  # set, but to nothing: an HMAC keyed with b"" anyone can compute
    with serve_core(tmp_path, log_dir, alerts={"sources": SOURCES[1:]}) as served:
        raw = json.dumps(GENERIC).encode()
        forged = {"X-Watchkeeper-Signature": f"sha256={sign('', raw)}"}
        refused = is_problem(served.post("/api/v1/alerts", content=raw, headers=forged), 503)
        assert "server's log" in str(refused["detail"])
        with served.core.engine.connect() as conn:
            assert conn.execute(select(AlertDelivery.id)).first() is None


def test_a_malformed_post_is_400_naming_the_field_and_kept_as_rejected(served_on: Served) -> None:
    broken = {**ALERTMANAGER, "alerts": [{"status": "firing", "startsAt": "2026-01-01T00:00:00Z"}]}
    refused = is_problem(served_on.post("/api/v1/alerts/alertmanager", "webhook", json=broken), 400)
    errors: list[dict[str, str]] = refused["errors"]  # type: ignore[assignment]
    [error] = errors
    assert error["field"].startswith("alerts[0]") and error["error"]
    not_json = is_problem(served_on.post("/api/v1/alerts", "webhook", content=b"{not json"), 400)
    assert not_json["errors"]

    rejected = served_on.get("/api/v1/alerts/rejected", "viewer").json()
    assert [(r["source"], r["sender"]) for r in rejected] == [("generic", "webhook"), ("alertmanager", "webhook")]
    assert rejected[0]["body"] == "{not json" and rejected[1]["error"]
    assert json.loads(rejected[1]["body"]) == broken
    assert served_on.get("/api/v1/alerts/rejected", "viewer", params={"limit": 1}).json() == rejected[:1]


def test_a_secret_the_shown_cut_goes_through_is_redacted_whole(served: Served) -> None:
    # The listing shows the first 2000 characters: a password cut in half would match no rule.
    body = json.dumps({"pad": "x" * 1970, "password": "S3cr3t-hunter2-value"})[:-1] + ", broken"
    assert body.index("S3cr3t") < 2000 < body.index("-value")
    is_problem(served.post("/api/v1/alerts", "webhook", content=body.encode()), 400)
    (shown,) = served.get("/api/v1/alerts/rejected", "viewer").json()
    assert "S3cr3t" not in shown["body"] and len(shown["body"]) <= 2000
    assert shown["body"].startswith('{"pad": "xxx')


def test_an_oversized_post_is_413(tmp_path: Path, log_dir: Path) -> None:
    with serve_core(tmp_path, log_dir, server={"max_body_bytes": 2048}) as served:
        big = {**GENERIC, "annotations": {"description": "x" * 4096}}
        is_problem(served.post("/api/v1/alerts", "webhook", json=big), 413)


def test_a_post_that_cannot_be_stored_is_503_with_retry_after(served: Served) -> None:
    full_disk(served.core.engine)
    big = {**GENERIC, "annotations": {"description": "x" * 200_000}}
    answer = served.post("/api/v1/alerts", "webhook", json=big)
    is_problem(answer, 503)
    assert answer.headers["retry-after"].isdigit()


def test_a_source_that_requires_a_timestamp_takes_no_post_without_one(tmp_path: Path, log_dir: Path) -> None:
    """A captured post of such a source cannot be replayed once its timestamp is stale (the cases above)."""
    sources = [{"name": "edge", "secret": "edge-secret", "require_timestamp": True}]
    raw = json.dumps(GENERIC).encode()
    with serve_core(tmp_path, log_dir, alerts={"sources": sources}) as served:
        bare = {"X-Watchkeeper-Signature": f"sha256={sign('edge-secret', raw)}"}
        refused = is_problem(served.post("/api/v1/alerts", content=raw, headers=bare), 401)
        assert "alert source 'edge' requires a signed timestamp" in str(refused["detail"])
        stamp = str(int(time.time()))
        timed = {
            "X-Watchkeeper-Signature": f"sha256={sign('edge-secret', stamp.encode() + b':' + raw)}",
            "X-Watchkeeper-Timestamp": stamp,
        }
        answer = served.post("/api/v1/alerts", content=raw, headers=timed)
        assert answer.status_code == 202, answer.text
        assert stored(served, answer.json()["delivery_id"]).sender == "signed:edge"
