# ruff: noqa: RUF001  (Chinese questions carry full-width punctuation)
"""Alert payloads, targets, and playbook choice (including an operator's own playbook)."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.errors import ConfigError
from watchkeeper.evidence.gatherers import GATHERERS
from watchkeeper.evidence.playbooks import choose, load_playbooks
from watchkeeper.evidence.report import Symptom
from watchkeeper.evidence.symptoms import AlertError, from_alert_payload, targets
from watchkeeper.scenarios.world import alert_payload

BOOKS = load_playbooks([], set(GATHERERS))


def test_alertmanager_payload_and_single_alert() -> None:
    payload = alert_payload({"alertname": "TargetDown", "service": "orders", "instance": "10.0.0.5:8080"})
    payload["alerts"].append({**payload["alerts"][0], "status": "resolved"})
    symptoms = from_alert_payload(payload)
    assert len(symptoms) == 1 and symptoms[0].alertname == "TargetDown" and symptoms[0].starts_at is not None
    single = from_alert_payload({"labels": {"alertname": "X"}, "annotations": {"summary": "s"}})
    assert single[0].annotations == {"summary": "s"}


@pytest.mark.parametrize("bad", [[], {"alerts": []}, {"alerts": [{"status": "resolved", "labels": {}}]}, {"x": 1}])
def test_bad_payloads_say_why(bad: object) -> None:
    with pytest.raises(AlertError):
        from_alert_payload(bad)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"labels": "notadict"}, "labels must be an object of strings, not a string"),
        (
            {"labels": {"alertname": "X"}, "annotations": "str"},
            "annotations must be an object of strings, not a string",
        ),
        ({"labels": {"alertname": {"nested": 1}}}, "labels.alertname must be a string, not an object"),
        ({"labels": {"a\nb": []}}, 'labels["a\\nb"] must be a string, not an array'),  # one line, whatever the key
        ({"alerts": [1, "two"]}, "alerts[0] must be an alert object, not a number"),
        (
            {"alerts": [{"labels": {}}, {"labels": ["x"]}]},
            "alerts[1].labels must be an object of strings, not an array",
        ),
        ({"alerts": "many"}, "alerts must be an array of alert objects, not a string"),
    ],
)
def test_wrong_field_types_name_the_field(bad: object, message: str) -> None:
    with pytest.raises(AlertError) as raised:
        from_alert_payload(bad)
    assert str(raised.value) == message


def test_numbers_in_labels_are_text() -> None:
    symptom = from_alert_payload({"labels": {"alertname": "X", "port": 8080, "critical": True}})[0]
    assert symptom.labels == {"alertname": "X", "port": "8080", "critical": "true"}


def test_targets_from_labels_and_words() -> None:
    t = targets(Symptom(labels={"job": "web", "instance": "127.0.0.1:8443", "mountpoint": "/data"}))
    assert (t.service, t.host, t.port, t.mountpoint) == ("web", "127.0.0.1", 8443, "/data")
    u = targets(Symptom(labels={"instance": "https://portal.internal/health"}))
    assert u.url == "https://portal.internal/health" and u.port == 443 and u.host == "portal.internal"
    q = targets(Symptom(question="is http://127.0.0.1:9000/ok slow? port 9000, pid 4242, disk /var/lib/pg"))
    assert q.url == "http://127.0.0.1:9000/ok" and q.port == 9000 and q.pid == 4242 and q.mountpoint == "/var/lib/pg"


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        # node-exporter: the job names the exporter, the instance is the host and its port the exporter's
        ({"job": "node", "instance": "localhost:9100"}, (None, "localhost", None, None)),
        ({"job": "node_exporter", "instance": "10.0.0.7:9100"}, (None, "10.0.0.7", None, None)),
        ({"job": "postgres-exporter", "instance": "db1:9187"}, (None, "db1", None, None)),
        # blackbox: the instance is the probed target
        ({"job": "blackbox", "instance": "10.0.0.5:5432"}, (None, "10.0.0.5", 5432, None)),
        (
            {"job": "blackbox", "instance": "https://pay.internal/health"},
            (None, "pay.internal", 443, "https://pay.internal/health"),
        ),
        # an application's own job is a candidate service; a service label wins over an exporter job
        ({"job": "ledger-sync", "instance": "127.0.0.1:7070"}, ("ledger-sync", "127.0.0.1", 7070, None)),
        ({"job": "node", "service": "orders", "instance": "localhost:9100"}, ("orders", "localhost", None, None)),
    ],
)
def test_exporter_labels_are_read_for_what_they_are(labels: dict[str, str], expected: tuple[object, ...]) -> None:
    t = targets(Symptom(alertname="X", labels=labels))
    assert (t.service, t.host, t.port, t.url) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("redis is not responding on port 6379", (None, "127.0.0.1", 6379)),  # a bare port is this host
        ("端口 8080 没有响应", (None, "127.0.0.1", 8080)),
        ("cannot connect to 127.0.0.1:5432 since 3am", (None, "127.0.0.1", 5432)),
        ("payments API is returning 503 errors", ("payments", None, None)),
        ("支付服务一直报503", ("payments", None, None)),  # an alias, inside Chinese text with no spaces
        ("支付服务 payments 一直报503", ("payments", None, None)),
        ("the checkout-payments job is slow", (None, None, None)),  # a longer name is not the service
    ],
)
def test_questions_name_services_hosts_and_ports(question: str, expected: tuple[object, ...]) -> None:
    t = targets(Symptom(question=question), {"payments": ["支付服务"], "orders": []})
    assert (t.service, t.host, t.port) == expected


@pytest.mark.parametrize(
    ("symptom", "book"),
    [
        (Symptom(alertname="HostHighCpuLoad"), "cpu"),
        (Symptom(question="CPU is at 98% on this server, find out why"), "cpu"),
        (Symptom(alertname="HostOutOfMemory"), "memory"),
        (Symptom(alertname="Whatever", labels={"mountpoint": "/data"}), "disk"),
        (Symptom(alertname="TargetDown"), "service_down"),
        (Symptom(alertname="HighHttp5xxRate"), "http_errors"),
        (Symptom(question="checkout is slow, requests time out"), "latency"),
        (Symptom(alertname="SSLCertExpiringSoon"), "tls"),
        (Symptom(question="something feels off"), "generic"),
    ],
)
def test_choice(symptom: Symptom, book: str) -> None:
    assert choose(BOOKS, symptom).name == book


@pytest.mark.parametrize(
    ("question", "book"),
    [
        ("磁盘满了吗？", "disk"),
        ("服务器CPU使用率高，负载很大", "cpu"),
        ("java 进程内存泄漏", "memory"),
        ("订单服务挂了，端口连不上", "service_down"),
        ("接口很慢，经常超时", "latency"),
        ("网关一直报错 502", "http_errors"),
        ("证书快过期了", "tls"),
        ("服务起不来，一直在重启", "service_down"),
        ("网站打不开了", "service_down"),
        ("日志把硬盘撑爆了", "disk"),
        ("/data 分区使用率 100%", "disk"),
        ("机器开始大量使用交换分区", "memory"),
        ("用户反馈下单失败", "http_errors"),
        ("页面加载要十几秒", "latency"),
        ("SSL 握手失败", "tls"),
        ("the service keeps crashing and restarting", "service_down"),
        ("we ran out of inodes on /data", "disk"),
        ("the log is full of exceptions since 3am", "http_errors"),
        ("the cpu is pegged", "cpu"),
        ("cpus", "generic"),  # ASCII words still need their boundaries
    ],
)
def test_chinese_questions_choose_the_right_playbook(question: str, book: str) -> None:
    assert choose(BOOKS, Symptom(question=question)).name == book


def test_operators_add_and_replace_playbooks(tmp_path: Path) -> None:
    (tmp_path / "queue.yaml").write_text(
        "name: queue\nmatch:\n  alertnames: ['(?i)queue']\nsteps:\n  - skill: host_status\ngather: [service_logs]\n"
    )
    books = load_playbooks([tmp_path], set(GATHERERS))
    assert choose(books, Symptom(alertname="RabbitmqQueueBacklog")).name == "queue"
    (tmp_path / "bad.yaml").write_text("name: bad\ngather: [read_minds]\n")
    with pytest.raises(ConfigError, match="unknown gatherers: read_minds"):
        load_playbooks([tmp_path], set(GATHERERS))
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml is invalid"):
        load_playbooks([tmp_path], set(GATHERERS))
