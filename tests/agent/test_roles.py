"""Multi-agent roles with a scripted model: the coordinator delegates, a specialist reads with its own
tools and budget, the coordinator merges. Off by default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from tests.agent.scripted import call, calls, report, text
from tests.agent.test_loop import base_report
from tests.skills.lab import NoParams
from watchkeeper.agent.investigator import investigate
from watchkeeper.agent.roles import ROLES, role_skills
from watchkeeper.app import App
from watchkeeper.audit.model_log import ModelLog
from watchkeeper.incidents.investigate import agent_deps
from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.registry import skill_from_function


def test_multi_agent_is_off_by_default(rt: App) -> None:
    assert rt.settings.llm.multi_agent is False


def test_coordinator_delegates_to_a_specialist_with_its_own_tools(rt: App, log_dir: Path) -> None:
    log = log_dir / "app.log"
    log.write_text("03:00:01 ERROR pool exhausted: too many connections\n")
    offered: dict[str, set[str]] = {}

    def play(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        names = {t.name for t in info.function_tools}
        returns = [p for p in messages[-1].parts if isinstance(p, ToolReturnPart)]
        if "delegate" in names:  # the coordinator
            offered.setdefault("coordinator", names)
            if not returns:
                return calls(call("delegate", role="logs", question="what does the app log say?"))
            assert str(returns[0].content).startswith('<untrusted_data source="role:logs"')
            assert "pool exhausted" in str(returns[0].content)
            return report("connection pool exhausted", root_cause="too many DB connections", confidence=0.7)
        offered.setdefault("specialist", names)
        if not returns:
            return calls(call("tail_file", path=str(log)))
        return text("app.log: ERROR pool exhausted: too many connections")

    base = base_report()
    out = investigate(agent_deps(rt), base, model=FunctionModel(play, model_name="scripted"), multi_agent=True)
    assert out.mode == "llm" and out.summary == "connection pool exhausted"
    unsafe = {s.key for s in rt.registry.all() if s.risk is not RiskClass.SAFE}
    assert offered["coordinator"] == {"delegate", *unsafe}  # no read tools of its own
    assert offered["specialist"] == role_skills(rt.registry, "logs")
    roles = [r["role"] for r in ModelLog(rt.engine).rows(session_id=out.id)]
    assert roles == ["coordinator", "logs", "logs", "coordinator"]
    assert out.usage is not None and out.usage.requests == 4  # the specialist's requests count too
    rows = rt.ledger.rows(session_id=out.id, tool="tail_file")
    assert rows and rows[0]["caller_role"] == "llm"


@skill(
    key="pack_disk_io",
    name="Disk I/O",
    description="A pack's read in the host category.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="host",
    result_example={},
)
def pack_disk_io(params: NoParams, ctx: SkillContext) -> dict[str, Any]:
    return {}


@skill(
    key="mcp_ticket_search",
    name="Ticket search",
    description="An imported MCP tool: its category names the server.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="mcp:tickets",
    result_example={},
)
def mcp_ticket_search(params: NoParams, ctx: SkillContext) -> dict[str, Any]:
    return {}


def test_roles_take_their_skills_from_categories(rt: App) -> None:
    """The built-ins land where the hand-written lists put them, and a pack skill or an imported MCP tool
    reaches a role by its category, with no list to update."""
    assert role_skills(rt.registry, "metrics") == {
        "host_status",
        "disk_usage",
        "mounts",
        "kernel_log",
        "recent_changes",
        "query_promql",
        "prometheus_alerts",
    }
    assert role_skills(rt.registry, "knowledge") == {"query_knowledge"}
    assert role_skills(rt.registry, "logs") == {
        "tail_file",
        "grep_file",
        "list_logs",
        "read_journal",
        "query_logql",
        "top_processes",
        "process_table",
        "process_detail",
        "service_status",
        "service_units",
        "listening_ports",
        "file_users",
        "path_info",
        "tcp_connections",
        "probe_http",
        "probe_tcp",
        "probe_dns",
    }

    rt.registry.add(skill_from_function(pack_disk_io, "pack"))
    rt.registry.add(skill_from_function(mcp_ticket_search, "mcp"))
    assert "pack_disk_io" in role_skills(rt.registry, "metrics")
    assert "mcp_ticket_search" in role_skills(rt.registry, "logs")
    assert not {"kill_process", "restart_service"} & set().union(*(role_skills(rt.registry, r) for r in ROLES))
