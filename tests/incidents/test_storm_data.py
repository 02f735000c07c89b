"""The benchmark's alert storm has the cause structure it promises, its payloads are the real
Alertmanager's, and the pairwise score counts what it says."""

from __future__ import annotations

import http.server
import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from bench.storm_alertmanager import alertmanager_ingest, start_alertmanager
from bench.storm_data import CERT_EXPIRING, DB_DOWN, DISK_FULL, FIRING_ENDS_AT, MEMORY, make_storm, pairwise
from tests.helpers import serve, wait_for

START = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)


def test_every_alert_has_a_label_set_a_fingerprint_and_a_cause_of_its_own() -> None:
    storm = make_storm(150, 20, 3, seed=1, start=START)
    alerts = storm.alerts
    assert len(alerts) == 150 and sum(len(p["alerts"]) for p in storm.posts) == 450 and len(storm.posts) == 60
    assert len({frozenset(a["labels"].items()) for a in alerts}) == 150
    assert len({a["fingerprint"] for a in alerts}) == 150
    assert set(storm.truth) == {a["fingerprint"] for a in alerts}
    assert set(storm.truth.values()) == set(storm.causes) == {DB_DOWN, DISK_FULL, CERT_EXPIRING, MEMORY}
    assert all(a["status"] == "firing" and a["endsAt"] == FIRING_ENDS_AT for a in alerts)
    by_cause = defaultdict(set)
    for alert in alerts:
        by_cause[storm.truth[alert["fingerprint"]]].add(alert["labels"]["alertname"])
    assert by_cause[DISK_FULL] == {"HostOutOfDiskSpace", "HostDiskWillFillIn4Hours"}
    assert by_cause[CERT_EXPIRING] == {"SSLCertExpiringSoon"}
    assert {"PostgresDown", "HighErrorRate", "HighLatency", "ServiceDown"} == by_cause[DB_DOWN]


def test_dependents_page_before_the_database_and_their_services_lead_to_it() -> None:
    storm = make_storm(150, 20, 3, seed=1, start=START)
    names = [p["commonLabels"]["alertname"] for p in storm.posts]
    db = names.index("PostgresDown")
    before = [p for p in storm.posts[:db] if p["commonLabels"].get("service") in storm.services]
    assert before, "the database's alert came before every dependent's"
    assert storm.services["orders-db"] == [] and storm.services["checkout"] == ["orders-api"]
    for post in storm.posts:
        service = post["commonLabels"].get("service")
        chain = [service]
        while service is not None and storm.services[service]:
            service = storm.services[service][0]
            chain.append(service)
        assert (chain[-1] == "orders-db") == (storm.truth[post["alerts"][0]["fingerprint"]] == DB_DOWN), chain


def test_each_group_is_posted_whole_and_unchanged_on_every_resend() -> None:
    storm = make_storm(150, 20, 3, seed=1, start=START)
    posts = defaultdict(list)
    for post in storm.posts:
        posts[post["groupKey"]].append(post)
    assert len(posts) == 20 and all(len(resent) == 3 for resent in posts.values())
    assert all(resent[0] == resent[1] == resent[2] for resent in posts.values())
    assert sorted(len(p[0]["alerts"]) for p in posts.values()) == [1] * 6 + [10] * 10 + [11] * 4  # 144 over 14
    for key, (post, *_) in posts.items():
        assert all(a["labels"].items() >= post["groupLabels"].items() for a in post["alerts"]), key
    assert '{}:{alertname="HighErrorRate", service="orders-api"}' in posts
    assert '{}:{alertname="SSLCertExpiringSoon"}' in posts


def test_the_seed_decides_the_order_and_nothing_else_does() -> None:
    one, again, other = (make_storm(150, 20, 3, seed=s, start=START) for s in (1, 1, 2))
    assert one == again
    assert one.truth == other.truth and [p["groupKey"] for p in one.posts] != [p["groupKey"] for p in other.posts]


@pytest.mark.parametrize("alerts, groups, resends", [(150, 6, 3), (10, 20, 3), (150, 20, 0)])
def test_a_storm_too_small_for_its_causes_is_refused(alerts: int, groups: int, resends: int) -> None:
    with pytest.raises(ValueError, match="a storm needs groups > 6, alerts >= groups and resends >= 1"):
        make_storm(alerts, groups, resends, seed=1)


TRUTH = {"a1": "db", "a2": "db", "b1": "disk", "b2": "disk"}


def test_pairwise_scores_a_perfect_assignment_one() -> None:
    assert pairwise(TRUTH, {"a1": 7, "a2": 7, "b1": 8, "b2": 8}) == (1.0, 1.0, 1.0)


def test_pairwise_one_incident_for_everything_recalls_all_and_is_rarely_right() -> None:
    precision, recall, f1 = pairwise(TRUTH, dict.fromkeys(TRUTH, 1))
    assert (precision, recall) == (2 / 6, 1.0) and f1 == pytest.approx(0.5)


def test_pairwise_an_incident_per_alert_claims_nothing_and_recalls_nothing() -> None:
    assert pairwise(TRUTH, {fp: fp for fp in TRUTH}) == (1.0, 0.0, 0.0)
    assert pairwise(TRUTH, {}) == (1.0, 0.0, 0.0)  # alerts left unassigned stand alone


def test_pairwise_counts_the_pairs_of_a_mixed_assignment() -> None:
    # incident 1 holds a1, a2, b1: 3 pairs claimed, 1 right (a1-a2); the truth has 2 pairs.
    precision, recall, f1 = pairwise(TRUTH, {"a1": 1, "a2": 1, "b1": 1, "b2": 2, "stray": 1})
    assert (precision, recall) == (1 / 3, 1 / 2) and f1 == pytest.approx(0.4)


RECEIVED: list[dict[str, Any]] = []


class Receiver(http.server.BaseHTTPRequestHandler):
    """Alertmanager's webhook: keeps each notification."""

    def do_POST(self) -> None:
        RECEIVED.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_the_real_alertmanager_fingerprints_and_posts_the_storm_as_it_is_written(tmp_path: Path) -> None:
    storm = make_storm(40, 12, 2, seed=3)
    RECEIVED.clear()
    with serve(Receiver) as webhook, start_alertmanager(tmp_path, webhook + "/") as am:
        # One POST with every alert: each group's first notification then holds the whole group.
        figures = alertmanager_ingest(am.url, storm.alerts, batch=40, senders=1)
        assert figures["alerts"] == 40 and figures["posts"] == 1 and figures["non_2xx"] == 0
        stored = httpx2.get(f"{am.url}/api/v2/alerts").json()
        assert {a["fingerprint"]: a["labels"] for a in stored} == {a["fingerprint"]: a["labels"] for a in storm.alerts}

        # A group whose first alert started over group_wait ago flushes at once, perhaps before the
        # rest of the POST joined it; the rest follows a group_interval later.
        written = {p["groupKey"]: p for p in storm.posts}
        latest: dict[str, dict[str, Any]] = {}

        def every_group_whole() -> bool:
            latest.update((n["groupKey"], n) for n in list(RECEIVED))
            return len(latest) == 12 and all(len(n["alerts"]) == len(written[k]["alerts"]) for k, n in latest.items())

        assert wait_for(every_group_whole, timeout=20)
        assert wait_for(lambda: am.notifications() == len(RECEIVED))
    for real in latest.values():
        ours = written[real["groupKey"]]
        by_fingerprint = sorted(real["alerts"], key=lambda a: a["fingerprint"])
        assert by_fingerprint == sorted(ours["alerts"], key=lambda a: a["fingerprint"])
        assert {**real, "alerts": [], "externalURL": ""} == {**ours, "alerts": [], "externalURL": ""}


def test_alertmanager_ingest_counts_a_refused_post(tmp_path: Path) -> None:
    alert = make_storm(7, 7, 1, seed=1).alerts[0]
    with start_alertmanager(tmp_path) as am:
        figures = alertmanager_ingest(am.url, [{**alert, "labels": {}}, alert], batch=1, senders=2)  # no labels: 400
    assert figures["posts"] == 2 and figures["non_2xx"] == 1
