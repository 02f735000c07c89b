"""External MCP servers' tools imported as skills: gated, audited, time-limited, and robust to bad servers."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import call
from tests.helpers import Wk, free_port, wait_for
from tests.mcp.conftest import port_open
from watchkeeper.app import App, open_app
from watchkeeper.config import Settings
from watchkeeper.mcp.imports import server_states
from watchkeeper.policy.approvals import grant
from watchkeeper.policy.risk import RiskClass, Role
from watchkeeper.skills.invoke import Status

PEER = str(Path(__file__).with_name("peer_server.py"))


def stdio_peer(starts: Path, **extra: Any) -> dict[str, Any]:
    return {"name": "peer", "command": sys.executable, "args": [PEER, "stdio", str(starts)], **extra}


def peer_rt(tmp_path: Path, *servers: dict[str, Any]) -> App:
    return open_app(Settings(data_dir=tmp_path / "data", mcp={"servers": list(servers)}))


def starts(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def approved(rt: App, key: str, **params: Any) -> Any:
    return call(rt, key, approval=grant(key, params, "local", "alice", Role.CLI), **params)


def test_tools_are_imported_with_prefixed_keys_and_cautious_classes(tmp_path: Path) -> None:
    rt = peer_rt(tmp_path, stdio_peer(tmp_path / "starts"))
    imported = {s.key: s for s in rt.registry.all() if s.source == "mcp:peer"}
    assert set(imported) == {
        "peer_echo",
        "peer_wipe_volume",
        "peer_leak",
        "peer_fail_politely",
        "peer_sleepy",
        "peer_crash",
    }
    assert imported["peer_echo"].risk is RiskClass.MUTATING  # readOnlyHint is a hint, not trust
    assert imported["peer_wipe_volume"].risk is RiskClass.DANGEROUS  # a hint that raises risk always counts
    echo = imported["peer_echo"]
    assert echo.meta.scope.value == "manager" and echo.meta.category == "mcp:peer"
    assert "tool echo of MCP server peer" in echo.meta.description
    assert echo.params.json_schema()["required"] == ["text"]


def test_trust_annotations_and_explicit_classes(tmp_path: Path) -> None:
    rt = peer_rt(tmp_path, stdio_peer(tmp_path / "starts", trust_annotations=True, classes={"leak": "safe"}))
    risks = {s.key: s.risk for s in rt.registry.all() if s.source == "mcp:peer"}
    assert risks["peer_echo"] is RiskClass.SAFE
    assert risks["peer_leak"] is RiskClass.SAFE
    assert risks["peer_crash"] is RiskClass.MUTATING
    assert risks["peer_wipe_volume"] is RiskClass.DANGEROUS
    result = call(rt, "peer_echo", text="ab", times=2)
    assert result.ok and result.result == {"echo": "abab"}
    leak = call(rt, "peer_leak")
    assert "hunter2" not in json.dumps(leak.result) and "s3cret" not in json.dumps(leak.result)
    assert "hunter2" not in str(rt.ledger.rows(tool="peer_leak"))


def test_imported_calls_are_gated_validated_and_audited(tmp_path: Path) -> None:
    rt = peer_rt(tmp_path, stdio_peer(tmp_path / "starts"))
    refused = call(rt, "peer_echo", text="hi")
    assert refused.status is Status.REFUSED and refused.rule == "approval_required"
    invalid = call(rt, "peer_echo", times="many")
    assert invalid.status is Status.INVALID and {f for f, _ in invalid.problems} == {"text", "times"}
    ok = approved(rt, "peer_echo", text="hi")
    assert ok.ok and ok.result == {"echo": "hi"}
    wipe = approved(rt, "peer_wipe_volume", volume="/dev/sda")
    assert wipe.status is Status.REFUSED and wipe.rule == "dangerous_requires_sop"
    failed = approved(rt, "peer_fail_politely")
    assert failed.status is Status.FAILED and "fail_politely returned an error" in (failed.error or "")
    rows = rt.ledger.rows()
    # Each call that got past the gate recorded its intent before it reached the server.
    statuses = ["refused", "invalid", "intent", "succeeded", "refused", "intent", "failed"]
    assert [r["status"] for r in rows] == statuses
    assert rows[2]["approved_by"] == rows[3]["approved_by"] == "alice"


def test_a_crash_mid_call_is_clean_and_the_server_is_retried(tmp_path: Path) -> None:
    log = tmp_path / "starts"
    rt = peer_rt(tmp_path, stdio_peer(log, classes={"crash": "safe", "echo": "safe"}))
    assert call(rt, "peer_echo", text="before").ok
    crashed = call(rt, "peer_crash")
    assert crashed.status is Status.FAILED and "MCP server peer failed during crash" in (crashed.error or "")
    again = call(rt, "peer_echo", text="after")
    assert again.ok and again.result == {"echo": "after"}
    assert starts(log) == 3  # the listing, the first session, the session after the crash


def test_slow_tools_time_out(tmp_path: Path) -> None:
    rt = peer_rt(tmp_path, stdio_peer(tmp_path / "starts", classes={"sleepy": "safe"}, timeout_s=1))
    slow = call(rt, "peer_sleepy", seconds=10)
    assert slow.status is Status.TIMED_OUT


def test_tool_lists_are_cached_so_ordinary_commands_start_nothing(tmp_path: Path) -> None:
    log = tmp_path / "starts"
    peer_rt(tmp_path, stdio_peer(log))
    assert starts(log) == 1
    rt = peer_rt(tmp_path, stdio_peer(log))
    assert starts(log) == 1 and "peer_echo" in rt.registry
    cache = json.loads((tmp_path / "data" / "mcp-tools.json").read_text())
    assert {t["name"] for t in cache["peer"]["tools"]} >= {"echo", "crash"}


def test_a_server_that_cannot_start_does_not_take_the_rest_down(tmp_path: Path) -> None:
    ghost = {"name": "ghost", "command": str(tmp_path / "no-such-server")}
    rt = peer_rt(tmp_path, ghost, stdio_peer(tmp_path / "starts"))
    assert any("cannot list tools of MCP server ghost" in e for e in rt.registry.load_errors)
    assert "peer_echo" in rt.registry


@pytest.fixture
def http_peer(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, PEER, "http", str(port), str(tmp_path / "http-starts")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_for(lambda: port_open(port), timeout=20)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


def test_http_server_tools(tmp_path: Path, http_peer: str) -> None:
    server = {"name": "remote", "url": http_peer, "classes": {"echo": "safe"}, "headers": {"X-Api-Key": "lit-3r4l"}}
    rt = peer_rt(tmp_path, server)
    result = call(rt, "remote_echo", text="over http")
    assert result.ok and result.result == {"echo": "over http"}
    assert rt.ledger.rows()[-1]["tool_name"] == "remote_echo"
    assert "lit-3r4l" not in (tmp_path / "data" / "mcp-tools.json").read_text()


def test_wk_mcp_servers(tmp_path: Path, log_dir: Path) -> None:
    config = (
        f'[[mcp.servers]]\nname = "peer"\ncommand = "{sys.executable}"\nargs = ["{PEER}", "stdio", '
        f'"{tmp_path / "starts"}"]\n\n[[mcp.servers]]\nname = "ghost"\ncommand = "{tmp_path / "nope"}"\n'
    )
    wk = Wk(tmp_path, log_dir, config)
    states = {s["name"]: s for s in wk.json("mcp", "servers")}
    assert states["peer"]["state"] == "ok" and states["ghost"]["state"] == "error"
    assert "No such file" in states["ghost"]["error"]
    classes = {t["key"]: t["class"] for t in states["peer"]["tools"]}
    assert classes["peer_echo"] == "mutating" and classes["peer_wipe_volume"] == "dangerous"
    human = wk("mcp", "servers", "--refresh")
    assert human.returncode == 0 and "peer" in human.stdout and "ghost" in human.stdout
    doctor = wk("doctor")
    assert doctor.returncode == 1 and "MCP server ghost" in doctor.stdout and "FAIL" in doctor.stdout
    listed = {s["key"] for s in wk.json("skills", "list")}
    assert "peer_echo" in listed
    ran = wk("skills", "run", "peer_echo", "-p", "text=hi", "--yes", "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["result"] == {"echo": "hi"}


def test_wk_mcp_servers_masks_secrets_in_command_lines_and_urls(tmp_path: Path) -> None:
    ghost = {"name": "ghost", "command": str(tmp_path / "nope"), "args": ["-y", "srv", "--token", "GhostTok-1"]}
    remote = {"name": "remote", "url": f"http://user:UrlPw-2@127.0.0.1:{free_port()}/mcp", "timeout_s": 5}
    settings = Settings(data_dir=tmp_path / "data", mcp={"servers": [ghost, remote]})
    states = {s["name"]: s for s in server_states(settings)}
    assert states["ghost"]["transport"] == f"stdio: {tmp_path / 'nope'} -y srv --token [REDACTED]"
    assert states["remote"]["transport"].startswith("http: http://user:[REDACTED]@127.0.0.1:")
    assert "GhostTok" not in json.dumps(states) and "UrlPw" not in json.dumps(states)
