"""The skill registry as an MCP server, over stdio or streamable HTTP, with the official SDK.

Tools are derived from the registry (name = key, description, input schema, annotations from
the risk class); every call goes through `invoke` with caller role `mcp`, so the gate and the
audit row apply exactly as for the CLI. Which classes are listed comes from `mcp.expose`, and
the same policy (`gate.exposed`) blocks a call to a class that is not listed.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from watchkeeper import __version__
from watchkeeper.policy import gate
from watchkeeper.policy.risk import Caller, RiskClass, Role
from watchkeeper.runtime import Runtime
from watchkeeper.skills import derive
from watchkeeper.skills.base import Skill
from watchkeeper.skills.invoke import Invocation

INSTRUCTIONS = (
    "watchkeeper's audited operations skills. Read-only skills run for you; skills that change the "
    "host need a person's approval at the watchkeeper CLI and are refused here."
)


def tool_annotations(skill: Skill) -> types.ToolAnnotations:
    risk = skill.risk
    return types.ToolAnnotations(
        title=skill.meta.name,
        read_only_hint=risk is RiskClass.SAFE,
        destructive_hint=risk is RiskClass.DANGEROUS,
        idempotent_hint=skill.meta.idempotent,
    )


def to_tool(skill: Skill) -> types.Tool:
    return types.Tool(
        name=skill.key,
        title=skill.meta.name,
        description=derive.tool_description(skill),
        input_schema=derive.params_schema(skill),
        annotations=tool_annotations(skill),
    )


def to_result(call: Invocation) -> types.CallToolResult:
    """A redacted result with structured content; a refusal or failure is an isError result the model reads."""
    if call.ok:
        structured = call.result if isinstance(call.result, dict) else {"result": call.result}
        text = json.dumps(structured, ensure_ascii=False)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=structured)
    detail = call.as_dict()
    structured = {k: detail[k] for k in ("status", "error", "rule", "problems", "audit_id")}
    text = f"{call.status.value}: {call.error}"
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=structured, is_error=True
    )


def mcp_caller(rt: Runtime, session_id: str | None = None) -> Caller:
    exposed = frozenset(RiskClass(c) for c in rt.settings.mcp.expose)
    return Caller(Role.MCP, user="mcp-client", session_id=session_id or f"mcp-{uuid.uuid4().hex[:12]}", exposed=exposed)


def build_server(rt: Runtime) -> Server[Any]:
    caller = mcp_caller(rt)

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[to_tool(s) for s in rt.registry.all() if gate.exposed(s.risk, caller)])

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        arguments = dict(params.arguments or {})
        # invoke blocks (it waits on a skill thread): keep the event loop free for other sessions.
        call = await anyio.to_thread.run_sync(rt.invoker.invoke, params.name, arguments, caller)
        return to_result(call)

    return Server(
        "watchkeeper",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(rt: Runtime) -> None:
    from mcp.server.stdio import stdio_server

    server = build_server(rt)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())
