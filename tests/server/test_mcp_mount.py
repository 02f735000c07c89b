"""MCP under `wk serve`: the official SDK client at /mcp with an API token; the call is audited with
caller role `mcp` and the token's user; a viewer's token is refused."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.server.conftest import Served


def test_mcp_at_slash_mcp_takes_api_tokens_and_audits_the_user(served: Served) -> None:
    seen: dict[str, Any] = {}

    async def session() -> None:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {served.tokens['operator']}"})
        async with Client(streamable_http_client(f"{served.url}/mcp", http_client=http)) as client:
            seen["tools"] = [t.name for t in (await client.list_tools()).tools]
            seen["result"] = (await client.call_tool("path_info", {"path": "/"})).structured_content

    anyio.run(session)
    assert "path_info" in seen["tools"] and "kill_process" not in seen["tools"]  # mcp.expose: safe only
    assert seen["result"]["exists"] is True
    rows = served.get("/api/v1/audit", "viewer", params={"tool": "path_info"}).json()
    assert [(r["caller_role"], r["caller_user_id"]) for r in rows] == [("mcp", "operator")]
    denied = httpx2.post(f"{served.url}/mcp", headers={"Authorization": f"Bearer {served.tokens['viewer']}"}, json={})
    assert denied.status_code == 403 and denied.json()["detail"] == "viewer is viewer; this needs operator or above"
