"""The gate: safe runs; mutating needs a matching human approval; dangerous is refused for now."""

from __future__ import annotations

import pytest

from watchkeeper.errors import Refused
from watchkeeper.policy.approvals import Approval, call_digest, grant
from watchkeeper.policy.gate import check
from watchkeeper.policy.risk import Caller, RiskClass, Role

CLI = Caller(Role.CLI, "alice")
PARAMS = {"unit": "nginx"}


def test_safe_runs_for_every_caller() -> None:
    for role in Role:
        check(RiskClass.SAFE, "host_status", {}, "local", Caller(role), None)


def test_mutating_without_approval_is_refused() -> None:
    with pytest.raises(Refused, match="needs one person's approval of this exact call") as info:
        check(RiskClass.MUTATING, "restart_service", PARAMS, "local", CLI, None)
    assert info.value.rule == "approval_required"


def test_mutating_with_matching_cli_approval_runs() -> None:
    approval = grant("restart_service", PARAMS, "local", "alice", Role.CLI)
    check(RiskClass.MUTATING, "restart_service", PARAMS, "local", CLI, approval)


@pytest.mark.parametrize(
    ("params", "edge", "key"),
    [
        ({"unit": "postgres"}, "local", "restart_service"),
        (PARAMS, "web-2", "restart_service"),
        (PARAMS, "local", "kill_process"),
    ],
)
def test_approval_is_bound_to_params_target_and_skill(params: dict[str, str], edge: str, key: str) -> None:
    approval = grant("restart_service", PARAMS, "local", "alice", Role.CLI)
    with pytest.raises(Refused) as info:
        check(RiskClass.MUTATING, key, params, edge, CLI, approval)
    assert info.value.rule == "approval_mismatch"


@pytest.mark.parametrize("role", [Role.LLM, Role.MCP, Role.WEBHOOK])
def test_untrusted_callers_cannot_carry_approvals(role: Role) -> None:
    approval = grant("restart_service", PARAMS, "local", "alice", Role.CLI)
    with pytest.raises(Refused) as info:
        check(RiskClass.MUTATING, "restart_service", PARAMS, "local", Caller(role), approval)
    assert info.value.rule == "untrusted_caller"


def test_approval_from_another_channel_is_refused() -> None:
    forged = Approval("restart_service", call_digest("restart_service", PARAMS, "local"), "local", "bot", Role.HTTP)
    with pytest.raises(Refused) as info:
        check(RiskClass.MUTATING, "restart_service", PARAMS, "local", Caller(Role.HTTP), forged)
    assert info.value.rule == "approval_channel"


def test_dangerous_is_refused_even_with_an_approval() -> None:
    approval = grant("wipe_disk", {}, "local", "alice", Role.CLI)
    with pytest.raises(Refused, match="signed SOP and two distinct approvers"):
        check(RiskClass.DANGEROUS, "wipe_disk", {}, "local", CLI, approval)
