"""probe_http, probe_tcp and probe_dns against real servers on 127.0.0.1."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import call, require_binary
from tests.helpers import free_port, http_server, wait_for
from watchkeeper.app import App
from watchkeeper.scenarios.certs import self_signed
from watchkeeper.skills.invoke import Status


def test_http_ok_and_unhealthy(rt: App) -> None:
    with http_server() as url:
        ok = call(rt, "probe_http", url=f"{url}/health")
        down = call(rt, "probe_http", url=f"{url}/down")
        expected = call(rt, "probe_http", url=f"{url}/down", expected_status=503)
    assert ok.ok and ok.result["ok"] is True and ok.result["status"] == 200
    assert ok.result["body_excerpt"] == '{"status":"ok"}' and ok.result["tls"] is None
    assert ok.result["latency_ms"] > 0 and ok.result["headers"]["content-type"] == "application/json"
    assert down.ok and down.result["ok"] is False and down.result["error"] == "status 503, expected 2xx/3xx"
    assert expected.result["ok"] is True


def test_https_certificate_expiry_and_verification(rt: App, tmp_path: Path) -> None:
    with http_server(self_signed(tmp_path, days=10)) as url:
        strict = call(rt, "probe_http", url=url)
        loose = call(rt, "probe_http", url=url, verify_tls=False)
    assert strict.result["status"] == 200 and strict.result["ok"] is False
    assert strict.result["tls"]["verified"] is False
    assert "self-signed" in strict.result["tls"]["verify_error"]
    assert 9.5 < strict.result["tls"]["days_to_expiry"] <= 10
    assert loose.result["ok"] is True and loose.result["tls"]["verified"] is None
    assert loose.result["tls"]["subject"] == "CN=localhost"


def test_http_connection_failures_are_findings(rt: App) -> None:
    closed = call(rt, "probe_http", url=f"http://127.0.0.1:{free_port()}/")
    assert closed.ok and closed.result["ok"] is False and closed.result["error"] == "connection refused"
    unresolvable = call(rt, "probe_http", url="http://no-such-host.invalid/")
    assert unresolvable.result["ok"] is False and "cannot resolve" in unresolvable.result["error"]


def test_http_rejects_non_http_urls(rt: App) -> None:
    result = call(rt, "probe_http", url="file:///etc/passwd")
    assert result.status is Status.INVALID and result.problems[0][0] == "url"


def test_tcp_open_and_closed(rt: App) -> None:
    with http_server() as url:
        port = int(url.rsplit(":", 1)[1])
        opened = call(rt, "probe_tcp", host="127.0.0.1", port=port)
    closed = call(rt, "probe_tcp", host="127.0.0.1", port=free_port())
    assert opened.result["open"] is True and opened.result["error"] is None
    assert closed.result["open"] is False and closed.result["error"] == "connection refused"
    invalid = call(rt, "probe_tcp", host="127.0.0.1", port=70000)
    assert invalid.status is Status.INVALID


@pytest.fixture
def dns_server(tmp_path: Path) -> Iterator[str]:
    """A real DNS server (dnsmasq) on 127.0.0.1 answering for wk.test."""
    exe = require_binary("dnsmasq")
    port = free_port()
    proc = subprocess.Popen(
        [
            exe,
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            f"--port={port}",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--user=root",
            f"--pid-file={tmp_path / 'dns.pid'}",
            "--address=/db.wk.test/10.1.2.3",
            "--txt-record=wk.test,hello world",
            "--mx-host=wk.test,mail.wk.test,10",
            "--local=/wk.test/",
        ],
        stderr=subprocess.PIPE,
    )
    server = f"127.0.0.1:{port}"
    try:
        import socket

        def ready() -> bool:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                try:
                    s.connect(("127.0.0.1", port))
                    return proc.poll() is None
                except OSError:
                    return False

        assert wait_for(ready, timeout=5), "dnsmasq did not start"
        yield server
    finally:
        proc.terminate()
        proc.wait(5)


def test_dns_against_a_real_server(rt: App, dns_server: str) -> None:
    a = call(rt, "probe_dns", name="db.wk.test", server=dns_server)
    assert a.ok and a.result["ok"] is True and a.result["answers"] == ["10.1.2.3"]
    assert a.result["resolver"] == "dns" and a.result["ttl"] is not None
    txt = call(rt, "probe_dns", name="wk.test", record_type="TXT", server=dns_server)
    assert txt.result["answers"] == ['"hello world"']
    mx = call(rt, "probe_dns", name="wk.test", record_type="MX", server=dns_server)
    assert mx.result["answers"] == ["10 mail.wk.test."]
    missing = call(rt, "probe_dns", name="nothing.wk.test", server=dns_server)
    assert missing.result["ok"] is False and missing.result["error"].startswith("NXDOMAIN")


def test_dns_system_resolver_sees_etc_hosts(rt: App) -> None:
    result = call(rt, "probe_dns", name="localhost")
    assert result.result["resolver"] == "system" and "127.0.0.1" in result.result["answers"]


def test_dns_unreachable_server_times_out(rt: App) -> None:
    result = call(rt, "probe_dns", name="db.wk.test", server=f"127.0.0.1:{free_port()}", timeout_s=1)
    assert result.result["ok"] is False and result.result["error"]


def test_dns_server_must_be_an_ip(rt: App) -> None:
    result = call(rt, "probe_dns", name="x", server="dns.example.com")
    assert result.status is Status.INVALID and result.problems[0][0] == "server"
