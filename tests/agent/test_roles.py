"""Multi-agent roles with a scripted model: the coordinator delegates, a specialist reads with its own
tools and budget, the coordinator merges. Off by default."""

from __future__ import annotations

from pathlib import Path

from pydantic_ai.messages import ModelMessage, ModelResponse, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from tests.agent.scripted import call, calls, report, text
from tests.agent.test_loop import base_report
from watchkeeper.agent.investigator import investigate
from watchkeeper.agent.roles import ROLES
from watchkeeper.audit.model_log import ModelLog
from watchkeeper.policy.risk import RiskClass
from watchkeeper.runtime import Runtime


def test_multi_agent_is_off_by_default(rt: Runtime) -> None:
    assert rt.settings.llm.multi_agent is False


def test_coordinator_delegates_to_a_specialist_with_its_own_tools(rt: Runtime, log_dir: Path) -> None:
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
    out = investigate(
        rt.invoker, base.symptom, model=FunctionModel(play, model_name="scripted"), base=base, multi_agent=True
    )
    assert out.mode == "llm" and out.summary == "connection pool exhausted"
    unsafe = {s.key for s in rt.registry.all() if s.risk is not RiskClass.SAFE}
    assert offered["coordinator"] == {"delegate", *unsafe}  # no read tools of its own
    assert offered["specialist"] == ROLES["logs"].skills & {s.key for s in rt.registry.all()}
    roles = [r["role"] for r in ModelLog(rt.engine).rows(session_id=out.id)]
    assert roles == ["coordinator", "logs", "logs", "coordinator"]
    assert out.usage is not None and out.usage.requests == 4  # the specialist's requests count too
    rows = rt.ledger.rows(session_id=out.id, tool="tail_file")
    assert rows and rows[0]["caller_role"] == "llm"
