"""`wk serve` as a person runs it: the newcomer's walk (a user, a token, curl the skills, run one, see it
in `wk audit` with their name, read /metrics), plain HTTP refused beyond loopback, HTTPS with a
certificate, and SIGTERM / Ctrl-C stopping it cleanly within 20 s."""

from __future__ import annotations

import signal
import subprocess
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import psutil
import pytest

from tests.conftest import require_binary
from tests.helpers import WK, Wk, free_port, pid_alive, stop_manager, wait_for
from watchkeeper.scenarios.certs import self_signed


@contextmanager
def wk_serve(wk: Wk, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`wk serve` on a free port; yields the process and the URL it announced."""
    port = free_port()
    proc = subprocess.Popen(
        [WK, "serve", "--port", str(port), *args], env=wk.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    scheme = "https" if "--tls-cert" in args else "http"
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        up = wait_for(lambda: proc.poll() is not None or _answers(url), timeout=60)
        assert up and proc.poll() is None, f"wk serve did not start: {proc.communicate(timeout=10)[1]}"
        yield proc, url
    finally:
        stop_manager(proc)


def _answers(url: str) -> bool:
    try:
        return httpx2.get(f"{url}/healthz", verify=False, timeout=2).status_code == 200
    except httpx2.HTTPError:
        return False


def test_a_newcomer_makes_a_token_runs_a_skill_and_finds_it_audited(tmp_path: Path, log_dir: Path) -> None:
    wk = Wk(tmp_path, log_dir)
    with wk_serve(wk) as (proc, url):
        assert wk("users", "add", "alice", "--role", "operator").returncode == 0
        token = wk("tokens", "create", "--user", "alice").stdout.strip()
        auth = {"Authorization": f"Bearer {token}"}
        skills = httpx2.get(f"{url}/api/v1/skills", headers=auth).json()
        assert "path_info" in [s["key"] for s in skills]
        ran = httpx2.post(f"{url}/api/v1/skills/path_info/invoke", headers=auth, json={"params": {"path": "/"}})
        assert ran.status_code == 200 and ran.json()["status"] == "succeeded"
        audited = wk.json("audit", "--user", "alice")
        assert [(r["tool_name"], r["caller_role"], r["caller_user_id"]) for r in audited] == [
            ("path_info", "http", "alice")
        ]
        metrics = httpx2.get(f"{url}/metrics", headers=auth).text
        assert 'watchkeeper_skill_invocations_total{skill="path_info",status="succeeded"} 1.0' in metrics
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        t0 = time.monotonic()
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and time.monotonic() - t0 < 20
    assert f"watchkeeper manager on {url}" in err and "wk tokens create --user me" in err
    assert "Traceback" not in err
    # The Alertmanager receiver it prints is one the real Alertmanager accepts, pointing at this manager.
    receiver = textwrap.dedent(
        err.split("in alertmanager.yml (route its alerts to this receiver):\n")[1].split("Ctrl-C")[0]
    )
    assert f"url: {url}/api/v1/alerts/alertmanager" in receiver
    (tmp_path / "am.yml").write_text("route: {receiver: watchkeeper}\n" + receiver)
    checked = subprocess.run(
        [require_binary("amtool"), "check-config", str(tmp_path / "am.yml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_sigterm_stops_it_and_its_worker_process_within_20_seconds(tmp_path: Path, log_dir: Path) -> None:
    with wk_serve(Wk(tmp_path, log_dir)) as (proc, _url):
        assert wait_for(lambda: len(psutil.Process(proc.pid).children()) == 1, timeout=30)
        (workers,) = psutil.Process(proc.pid).children()
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and time.monotonic() - t0 < 20 and not pid_alive(workers.pid)
    assert "Fatal Python error" not in err and "Traceback" not in err, err  # the worker process too


def test_plain_http_beyond_loopback_is_refused(tmp_path: Path, log_dir: Path) -> None:
    wk = Wk(tmp_path, log_dir)
    done = wk("serve", "--host", "0.0.0.0", "--port", str(free_port()))
    assert done.returncode == 2 and done.stderr.startswith("error: refusing to serve plain HTTP on 0.0.0.0")
    assert len(done.stderr.strip().splitlines()) == 1 and "manager on" not in done.stderr
    half = wk("serve", "--tls-cert", str(tmp_path / "c.pem"))
    assert half.returncode == 2 and "go together" in half.stderr


@pytest.mark.parametrize("proxy", [False, True])
def test_https_with_a_certificate_or_plain_behind_a_proxy(tmp_path: Path, log_dir: Path, proxy: bool) -> None:
    if proxy:
        wk = Wk(tmp_path, log_dir, "[server]\nallow_plain_http = true\n")
        args: tuple[str, ...] = ("--host", "0.0.0.0")
    else:
        wk = Wk(tmp_path, log_dir)
        cert, key = self_signed(tmp_path, days=10)
        args = ("--tls-cert", str(cert), "--tls-key", str(key))
    with wk_serve(wk, *args) as (_proc, url):
        assert httpx2.get(f"{url}/healthz", verify=False).json() == {"status": "ok"}
