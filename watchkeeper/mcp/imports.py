"""External MCP servers' tools imported as skills: scope manager, key prefixed with the server's name.

A third party's annotations are hints, not trust. An imported tool is `mutating` unless config
says otherwise; a hint that raises the risk (destructiveHint) always counts, one that lowers it
(readOnlyHint) only for a server marked `trust_annotations`. Tool lists are cached in the data
directory and fetched again when older than `mcp.refresh_s`, so ordinary commands do not start
every server; a server is connected when one of its tools is called.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

import mcp_types as types

from watchkeeper.canonical import digest
from watchkeeper.config import McpServerConfig, Settings
from watchkeeper.errors import SkillDefinitionError, SkillFailed, WatchkeeperError
from watchkeeper.mcp.client import Connections, describe_error
from watchkeeper.policy.risk import RiskClass
from watchkeeper.redact import redact_argv, redact_text
from watchkeeper.skills.base import Scope, Skill, SkillMeta
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.params import SchemaParams
from watchkeeper.skills.registry import Registry

FETCH_TIMEOUT_S = 30.0
RETRY_FAILED_AFTER_S = 60


def skill_key(server: str, tool: str) -> str:
    return f"{server}_{re.sub(r'[^a-z0-9]+', '_', tool.lower()).strip('_')}"[:63]


def risk_for(cfg: McpServerConfig, tool: dict[str, Any]) -> RiskClass:
    if tool["name"] in cfg.classes:
        return RiskClass(cfg.classes[tool["name"]])
    hints = tool.get("annotations") or {}
    if hints.get("destructiveHint") is True:
        return RiskClass.DANGEROUS
    if cfg.trust_annotations and hints.get("readOnlyHint") is True:
        return RiskClass.SAFE
    return RiskClass.MUTATING


def _text(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


def imported_skill(cfg: McpServerConfig, tool: dict[str, Any], connections: Connections) -> Skill:
    name = tool["name"]
    hints = tool.get("annotations") or {}
    meta = SkillMeta(
        key=skill_key(cfg.name, name),
        name=tool.get("title") or name,
        description=f"{tool.get('description') or name} (tool {name} of MCP server {cfg.name})",
        risk=risk_for(cfg, tool),
        scope=Scope.MANAGER,
        category=f"mcp:{cfg.name}",
        result_example={},
        idempotent=hints.get("idempotentHint") is True,
        timeout_s=cfg.timeout_s,
    )
    params = SchemaParams(tool.get("inputSchema") or {"type": "object"}, False, f"MCP server {cfg.name} tool {name}")

    def run(values: dict[str, Any], ctx: SkillContext) -> Any:
        result = connections.call_tool(cfg, name, values, ctx.remaining())
        if result.is_error:
            raise SkillFailed(f"{cfg.name} tool {name} returned an error: {_text(result)[:2000]}")
        return result.structured_content if result.structured_content is not None else {"content": _text(result)}

    return Skill(meta, params, run, None, source=f"mcp:{cfg.name}")


def _config_digest(cfg: McpServerConfig) -> str:
    # A digest, not the config: headers and env may hold literal secrets.
    return digest(cfg.model_dump(mode="json"))


class ToolCache:
    """`<data_dir>/mcp-tools.json`: per server, when its tools were fetched, the tools, the last error."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = settings.data_dir / "mcp-tools.json"
        try:
            self.entries: dict[str, dict[str, Any]] = json.loads(self.path.read_text())
        except (OSError, json.JSONDecodeError):
            self.entries = {}

    def stale(self, cfg: McpServerConfig) -> bool:
        entry = self.entries.get(cfg.name)
        if entry is None or entry.get("config_digest") != _config_digest(cfg):
            return True
        age = time.time() - float(entry["fetched_epoch"])
        return age > (RETRY_FAILED_AFTER_S if entry.get("error") else self.settings.mcp.refresh_s)

    def refresh(self, cfg: McpServerConfig, connections: Connections) -> None:
        entry = self.entries.get(cfg.name, {"tools": []})
        try:
            # Listing includes starting the server: the per-call limit (timeout_s) is not for that.
            tools = connections.fetch_tools(cfg, FETCH_TIMEOUT_S)
            entry = {
                "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools],
                "error": None,
            }
        except (Exception, BaseExceptionGroup) as exc:
            detail = exc if isinstance(exc, WatchkeeperError) else describe_error(exc)
            entry = {**entry, "error": f"cannot list tools of MCP server {cfg.name}: {detail}"}
        now = datetime.now(UTC)
        entry.update(
            fetched_at=now.isoformat(timespec="seconds"),
            fetched_epoch=now.timestamp(),
            config_digest=_config_digest(cfg),
        )
        self.entries[cfg.name] = entry

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.entries, indent=2))


def refreshed_cache(settings: Settings, connections: Connections, force: bool = False) -> ToolCache:
    cache = ToolCache(settings)
    stale = [cfg for cfg in settings.mcp.servers if force or cache.stale(cfg)]
    for cfg in stale:
        cache.refresh(cfg, connections)
    if stale:
        cache.save()
    return cache


def add_imported_tools(registry: Registry, settings: Settings, connections: Connections) -> None:
    if not settings.mcp.servers:
        return
    cache = refreshed_cache(settings, connections)
    for cfg in settings.mcp.servers:
        entry = cache.entries.get(cfg.name, {})
        if entry.get("error"):
            registry.note(entry["error"])
        for tool in entry.get("tools", []):
            try:
                registry.add(imported_skill(cfg, tool, connections))
            except SkillDefinitionError as exc:
                registry.note(f"MCP server {cfg.name} tool {tool.get('name')}: {exc}")


def server_states(settings: Settings, refresh: bool = False) -> list[dict[str, Any]]:
    """What `wk mcp servers` shows: each configured server, its state and imported tools."""
    connections = Connections(settings.log_dir)
    cache = refreshed_cache(settings, connections, force=refresh)
    states = []
    for cfg in settings.mcp.servers:
        entry = cache.entries.get(cfg.name, {})
        tools = []
        for tool in entry.get("tools", []):
            tools.append(
                {
                    "key": skill_key(cfg.name, tool["name"]),
                    "tool": tool["name"],
                    "class": risk_for(cfg, tool).value,
                    "description": tool.get("description") or "",
                }
            )
        states.append(
            {
                "name": cfg.name,
                "transport": f"stdio: {' '.join(redact_argv([cfg.command, *cfg.args]))}"
                if cfg.command
                else f"http: {redact_text(cfg.url or '')}",
                "state": "error" if entry.get("error") else "ok" if entry else "not fetched",
                "fetched_at": entry.get("fetched_at"),
                "error": entry.get("error"),
                "tools": tools,
            }
        )
    return states
