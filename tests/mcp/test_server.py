"""watchkeeper as an MCP server, driven by the official Python SDK client over stdio and HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest
from mcp import Client, StdioServerParameters

from tests.helpers import WK, Wk
from tests.mcp.conftest import HttpServer, start_http
from watchkeeper.app import build_registry, open_app
from watchkeeper.config import Settings
from watchkeeper.skills import derive

SAFE = {
    "disk_usage", "file_users", "grep_file", "host_status", "listening_ports", "probe_dns", "probe_http", "probe_tcp",
    "process_detail", "prometheus_alerts", "query_knowledge", "query_logql", "query_promql", "read_journal",
    "service_status", "tail_file", "top_processes",
    "path_info", "tcp_connections", "process_table", "mounts", "kernel_log", "recent_changes",
    "list_logs", "service_units",
}  # fmt: skip


def target(transport: str, wk: Wk, http: HttpServer | None) -> Any:
    if transport == "stdio":
        return StdioServerParameters(command=WK, args=["mcp"], env=wk.env)
    assert http is not None
    return http.url


def ledger_rows(wk: Wk) -> list[dict[str, Any]]:
    settings = Settings(data_dir=wk.data, mcp={"expose": ["safe"]})
    return open_app(settings).ledger.rows()


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_official_client_lists_calls_and_is_refused(
    transport: str, wk: Wk, log_dir: Path, request: pytest.FixtureRequest
) -> None:
    http = request.getfixturevalue("mcp_http") if transport == "http" else None
    (log_dir / "app.log").write_text("db login with password=hunter2 failed\n")
    seen: dict[str, Any] = {}

    async def session() -> None:
        async with Client(target(transport, wk, http)) as client:
            seen["info"] = client.server_info
            seen["tools"] = (await client.list_tools()).tools
            seen["ok"] = await client.call_tool("probe_tcp", {"host": "127.0.0.1", "port": 1})
            seen["mutating"] = await client.call_tool("kill_process", {"pid": psutil.Process().pid})
            seen["invalid"] = await client.call_tool("top_processes", {"n": "lots"})
            seen["secret"] = await client.call_tool("tail_file", {"path": str(log_dir / "app.log")})

    anyio.run(session)
    assert seen["info"].name == "watchkeeper"
    tools = {t.name: t for t in seen["tools"]}
    assert set(tools) == SAFE
    registry = build_registry(Settings(data_dir=wk.data))
    for name, tool in tools.items():
        skill = registry.get(name)
        assert tool.input_schema == derive.params_schema(skill)
        assert tool.description == derive.tool_description(skill)
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.annotations.destructive_hint is False
        assert tool.annotations.idempotent_hint is skill.meta.idempotent
    ok = seen["ok"]
    assert ok.is_error is False and ok.structured_content["open"] is False
    assert '"open": false' in ok.content[0].text
    refused = seen["mutating"]
    assert refused.is_error is True and refused.structured_content["rule"] == "not_exposed"
    assert "needs one person's approval of this exact call" in refused.content[0].text
    assert "approve and run it at the watchkeeper CLI: wk skills run kill_process" in refused.content[0].text
    invalid = seen["invalid"]
    assert invalid.is_error is True and invalid.structured_content["problems"][0]["field"] == "n"
    secret = seen["secret"]
    assert "hunter2" not in secret.content[0].text and "[REDACTED]" in str(secret.structured_content)
    rows = ledger_rows(wk)
    assert [(r["tool_name"], r["status"], r["caller_role"]) for r in rows] == [
        ("probe_tcp", "succeeded", "mcp"),
        ("kill_process", "refused", "mcp"),
        ("top_processes", "invalid", "mcp"),
        ("tail_file", "succeeded", "mcp"),
    ]
    assert len({r["session_id"] for r in rows}) == 1 and rows[0]["session_id"].startswith("mcp-")


def test_exposing_mutating_lists_it_but_the_gate_still_blocks(tmp_path: Path, log_dir: Path) -> None:
    wk = Wk(tmp_path, log_dir, '[mcp]\nexpose = ["safe", "mutating"]\n')
    proc, port = start_http(wk)
    victim = psutil.Popen(["sleep", "60"])
    seen: dict[str, Any] = {}

    async def session() -> None:
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            seen["tools"] = {t.name: t for t in (await client.list_tools()).tools}
            seen["kill"] = await client.call_tool("kill_process", {"pid": victim.pid})

    try:
        anyio.run(session)
    finally:
        proc.terminate()
        proc.wait(10)
    try:
        kill = seen["tools"]["kill_process"]
        assert kill.annotations.read_only_hint is False and kill.annotations.destructive_hint is False
        assert kill.annotations.idempotent_hint is False
        assert seen["kill"].is_error is True and seen["kill"].structured_content["rule"] == "approval_required"
        assert victim.is_running() and victim.status() != psutil.STATUS_ZOMBIE
    finally:
        victim.kill()
        victim.wait()


def test_only_a_refused_mutating_skill_is_told_where_a_person_can_approve_it() -> None:
    """A dangerous skill cannot be approved anywhere yet: pointing it at the CLI would be a false promise."""
    from watchkeeper.mcp.server import to_result
    from watchkeeper.policy.risk import RiskClass
    from watchkeeper.skills.invoke import Invocation, Status

    def refused(key: str, risk: RiskClass) -> str:
        call = Invocation(key, Status.REFUSED, {}, error=f"{key} is refused", rule="not_exposed")
        text = to_result(call, risk).content[0].text  # type: ignore[union-attr]
        return str(text)

    assert refused("kill_process", RiskClass.MUTATING).endswith(
        "a person can approve and run it at the watchkeeper CLI: wk skills run kill_process"
    )
    assert "approve" not in refused("wipe_disk", RiskClass.DANGEROUS)
