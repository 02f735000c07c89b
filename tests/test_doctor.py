"""`wk doctor` checks what is configured, for real, concurrently and within its time bound."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import call, make_settings
from tests.helpers import Wk, free_port, silent_listener, unroutable_port, wait_for
from tests.notify.receivers import SECRET, receiver
from tests.supervisord import running_supervisord
from watchkeeper.app import open_app
from watchkeeper.doctor import CHECK_LIMIT_S, service_manager_check
from watchkeeper.skills import service_managers
from watchkeeper.skills.service_managers import systemd_runs


def lines(wk: Wk) -> tuple[int, dict[str, dict[str, Any]]]:
    done = wk("doctor", "--json")
    return done.returncode, {c["name"]: c for c in json.loads(done.stdout)}


def timed(wk: Wk) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    done = wk("doctor")
    return time.monotonic() - start, done


def test_everything_down_fails_within_ten_seconds(tmp_path: Path, log_dir: Path) -> None:
    with silent_listener() as hung, unroutable_port() as nowhere:
        dead = free_port()
        config = f"""
[observability]
prometheus_url = "http://127.0.0.1:{dead}"
alertmanager_url = "http://127.0.0.1:{hung.port}"
loki_url = "http://127.0.0.1:{nowhere}"

[notify]
urls = ["dingtalk+http://127.0.0.1:{nowhere}/robot/send?access_token=tok123", "env:WK_TEST_UNSET_URL",
        "tgram://123456789:AAbotTOKENsecret/987654"]

[services]
manager = "supervisor"
supervisor_config = "{tmp_path / "supervisord.conf"}"

[llm]
base_url = "http://127.0.0.1:{hung.port}/v1"
model = "any"

[[mcp.servers]]
name = "hung"
url = "http://127.0.0.1:{hung.port}/mcp"

[[mcp.servers]]
name = "ghost"
command = "{tmp_path / "no-such-server"}"
"""
        (tmp_path / "supervisord.conf").write_text(f"[supervisorctl]\nserverurl=unix://{tmp_path / 'gone.sock'}\n")
        (tmp_path / "base").mkdir()
        baseline, _ = timed(Wk(tmp_path / "base", log_dir))  # start-up and local checks on this host, now
        elapsed, done = timed(Wk(tmp_path, log_dir, config))
    # In sequence these took over 40 s (the MCP listing alone waited 30 s). Concurrently they add one
    # backend limit to what doctor costs with nothing configured; the 10 s promise has a margin for a busy host.
    assert elapsed < baseline + CHECK_LIMIT_S + 3, f"{elapsed:.1f} s with every backend down, {baseline:.1f} s without"
    assert elapsed < 15, f"wk doctor took {elapsed:.1f} s with every backend down"
    assert done.returncode == 1 and "Traceback" not in done.stderr
    out = done.stdout
    assert (
        f"FAIL prometheus: Prometheus at http://127.0.0.1:{dead} is unreachable: [Errno 111] Connection refused" in out
    )
    assert f"FAIL alertmanager: Alertmanager at http://127.0.0.1:{hung.port} did not answer within 4 s" in out
    assert f"FAIL loki: Loki at http://127.0.0.1:{nowhere} did not answer within 4 s" in out
    assert f"FAIL notify dingtalk+http://127.0.0.1:{nowhere}/…: 127.0.0.1 port {nowhere}: no answer within 4 s" in out
    assert "FAIL notify env:WK_TEST_UNSET_URL: secret refers to environment variable WK_TEST_UNSET_URL" in out
    assert "notify tgram://api.telegram.org:443/…" in out  # the bot token is never the "host"
    assert "tok123" not in out and "botTOKEN" not in out
    assert "FAIL MCP server hung: no tool list within 4 s" in out
    assert "FAIL MCP server ghost: cannot list its tools: " in out and "No such file" in out
    # Its own socket timeout or, when importing the client ate into its limit, the runner's.
    llm = next(line for line in out.splitlines() if line.startswith("FAIL LLM: "))
    assert f"{hung.port}/v1 did not answer within 4 s" in llm or llm.endswith("timed out after 4 s")
    gone = tmp_path / "gone.sock"
    assert (
        f"FAIL service manager: supervisor (configured) is not running: no supervisord answers on unix://{gone}" in out
    )


def test_notify_targets_are_reached_but_sent_nothing(
    tmp_path: Path, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with receiver() as chat, silent_listener() as hook:
        dingtalk = f"dingtalk+{chat.url}/robot/send?access_token=tok123&secret={SECRET}"
        config = f'[notify]\nurls = ["{dingtalk}", "env:WK_TEST_HOOK"]\n'
        wk = Wk(tmp_path, log_dir, config)
        wk.env["WK_TEST_HOOK"] = f"http://127.0.0.1:{hook.port}/hooks/T0KEN"
        code, checks = lines(wk)
        assert wait_for(lambda: hook.closed >= 1, timeout=5), "doctor never connected to the webhook's port"
        assert chat.got == [] and hook.received == b""  # reachable, and not one byte sent
    port = chat.url.rsplit(":", 1)[1]
    shown = checks[f"notify dingtalk+http://127.0.0.1:{port}/…"]
    assert shown["status"] == "ok" and "accepts connections (nothing sent)" in shown["detail"]
    assert checks[f"notify http://127.0.0.1:{hook.port}/…"]["status"] == "ok"
    text = json.dumps(checks)
    assert "tok123" not in text and SECRET not in text and "T0KEN" not in text
    assert code == 0


@pytest.mark.skipif(systemd_runs()[0], reason="systemd is PID 1 here: auto-detection rightly prefers it")
def test_a_live_supervisord_is_detected_and_a_dead_one_is_not(tmp_path: Path, log_dir: Path) -> None:
    with running_supervisord(tmp_path) as sv:
        wk = Wk(tmp_path, log_dir, f'[services]\nsupervisor_config = "{sv.conf}"\n')
        code, checks = lines(wk)
        assert checks["service manager"]["detail"].startswith(
            f"supervisor (detected: supervisord answers on unix://{sv.sock}"
        )
        # The skills pick the same manager as doctor: service_status really reads supervisord.
        rt = open_app(make_settings(tmp_path, log_dir, services={"supervisor_config": str(sv.conf)}))
        status = call(rt, "service_status", unit="webapp")
        assert status.ok and status.result["manager"] == "supervisor" and status.result["running"] is True
    # supervisord installed, its config present, but not running: neither doctor nor the skills claim it.
    code, checks = lines(wk)
    assert code == 0 and checks["service manager"]["status"] != "FAIL"
    assert not checks["service manager"]["detail"].startswith("supervisor")
    assert f"no supervisord answers on unix://{sv.sock}" in checks["service manager"]["detail"]
    after = call(rt, "service_status", unit="webapp")
    assert after.ok is False and "supervisor" not in (after.error or "")
    # Configured but not running: a FAIL line naming why, and the skills refuse with the same reason.
    services = {"manager": "supervisor", "supervisor_config": str(sv.conf)}
    forced = make_settings(tmp_path, log_dir, data_dir=tmp_path / "forced", services=services)
    line = service_manager_check(forced)
    assert line.status == "FAIL" and line.detail.startswith(
        f"supervisor (configured) is not running: no supervisord answers on unix://{sv.sock}"
    )
    refused = call(open_app(forced), "service_status", unit="webapp")
    assert refused.ok is False and "services.manager is supervisor, but no supervisord answers" in (refused.error or "")


def test_stdio_mcp_server_and_knowledge_model_are_checked(tmp_path: Path, log_dir: Path) -> None:
    peer = Path(__file__).parent / "mcp" / "peer_server.py"
    args = f'["{peer}", "stdio", "{tmp_path / "starts"}"]'
    config = f'[[mcp.servers]]\nname = "peer"\ncommand = "{sys.executable}"\nargs = {args}\n'
    code, checks = lines(Wk(tmp_path, log_dir, config))
    assert checks["MCP server peer"]["status"] == "ok" and "tools (stdio:" in checks["MCP server peer"]["detail"]
    assert checks["knowledge"]["detail"].endswith("hybrid retrieval (multilingual embedding model loaded)")
    assert code == 0


@pytest.mark.skipif(systemd_runs()[0], reason="systemd is PID 1 here: it is always found")
def test_no_manager_running_is_a_warning_and_the_skills_say_why(
    tmp_path: Path, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_managers, "INIT_D", tmp_path / "no-init.d")  # a host without SysV scripts
    conf = tmp_path / "supervisord.conf"
    conf.write_text("[supervisorctl]\nserverurl = unix://%(here)s/gone.sock ; a comment\n")
    settings = make_settings(tmp_path, log_dir, services={"supervisor_config": str(conf)})
    line = service_manager_check(settings)
    assert line.status == "warn" and line.detail.startswith("none runs here (PID 1 is ")
    assert f"no supervisord answers on unix://{tmp_path}/gone.sock" in line.detail
    failed = call(open_app(settings), "service_status", unit="webapp")
    assert failed.ok is False and (failed.error or "").startswith("no service manager runs on this host: PID 1 is")
