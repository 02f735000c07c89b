"""The skill registry as an MCP server, over stdio or streamable HTTP, with the official SDK.

Tools are derived from the registry (name = key, description, input schema, annotations from
the risk class); every call goes through `invoke` with caller role `mcp`, so the gate and the
audit row apply exactly as for the CLI. Which classes are listed comes from `mcp.expose`, and
the same policy (`gate.exposed`) blocks a call to a class that is not listed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

from watchkeeper import __version__
from watchkeeper.config import Settings
from watchkeeper.policy import gate
from watchkeeper.policy.risk import Caller, RiskClass, Role
from watchkeeper.skills import derive
from watchkeeper.skills.base import Skill
from watchkeeper.skills.invoke import Invocation, Invoker
from watchkeeper.skills.registry import Registry

INSTRUCTIONS = (
    "watchkeeper's audited operations skills. Read-only skills run for you; skills that change the "
    "host need a person's approval at the watchkeeper CLI and are refused here."
)


class Core(Protocol):
    """What the MCP face takes from the app core (watchkeeper.app.App)."""

    settings: Settings
    registry: Registry
    invoker: Invoker


# How a person gives an approval MCP cannot carry.
APPROVE_HERE = "a person can approve and run it at the watchkeeper CLI: wk skills run {key}"
NEEDS_A_PERSON = {"approval_required", "not_exposed"}


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


def to_result(call: Invocation, risk: RiskClass | None = None) -> types.CallToolResult:
    """A redacted result with structured content; a refusal or failure is an isError result the model
    reads. A mutating skill (`risk`) refused for want of a person says where a person can approve it;
    a dangerous one cannot be approved anywhere yet, so it is told nothing of the kind."""
    if call.ok:
        structured = call.result if isinstance(call.result, dict) else {"result": call.result}
        text = json.dumps(structured, ensure_ascii=False)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=structured)
    detail = call.as_dict()
    structured = {k: detail[k] for k in ("status", "error", "rule", "problems", "audit_id")}
    text = f"{call.status.value}: {call.error}"
    if risk is RiskClass.MUTATING and call.rule in NEEDS_A_PERSON:
        text += f"; {APPROVE_HERE.format(key=call.key)}"
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=structured, is_error=True
    )


def mcp_caller(rt: Core, session_id: str | None = None) -> Caller:
    exposed = frozenset(RiskClass(c) for c in rt.settings.mcp.expose)
    return Caller(Role.MCP, user="mcp-client", session_id=session_id or f"mcp-{uuid.uuid4().hex[:12]}", exposed=exposed)


def build_server(rt: Core, caller_of: Callable[[ServerRequestContext[Any]], Caller] | None = None) -> Server[Any]:
    """`caller_of`: who makes one call (under `wk serve`, the API token's user); by default one anonymous
    MCP client per server."""
    caller = mcp_caller(rt)

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[to_tool(s) for s in rt.registry.all() if gate.exposed(s.risk, caller)])

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        arguments = dict(params.arguments or {})
        call = await rt.invoker.ainvoke(params.name, arguments, caller_of(ctx) if caller_of else caller)
        return to_result(call, rt.registry.get(params.name).risk if params.name in rt.registry else None)

    return Server(
        "watchkeeper",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(rt: Core) -> None:
    from mcp.server.stdio import stdio_server

    server = build_server(rt)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())
