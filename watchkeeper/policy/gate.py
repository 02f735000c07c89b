"""The gate: decides from the risk class, the caller and the approval it is handed."""

from __future__ import annotations

from typing import Any

from watchkeeper.errors import Refused
from watchkeeper.policy.approvals import Approval, call_digest
from watchkeeper.policy.risk import UNTRUSTED_ROLES, Caller, RiskClass, Role

# Who may grant an approval for each class, for now: a person at the CLI, mutating only. The gate says
# what approval is needed; each face says how to give it there.
GRANTING_ROLES: dict[RiskClass, frozenset[Role]] = {
    RiskClass.MUTATING: frozenset({Role.CLI}),
    RiskClass.DANGEROUS: frozenset(),
}


NEEDS = {
    RiskClass.SAFE: "nothing",
    RiskClass.MUTATING: "one person's approval of this exact call",
    RiskClass.DANGEROUS: "a signed SOP and two distinct approvers",
}


def exposed(risk: RiskClass, caller: Caller) -> bool:
    """Whether the caller's surface offers this class: the same answer hides a tool and blocks its call."""
    return caller.exposed is None or risk in caller.exposed


def check_exposed(risk: RiskClass, key: str, caller: Caller) -> None:
    """Refuse a class the caller's surface does not offer, before anything about the call is looked at."""
    if not exposed(risk, caller):
        offered = ", ".join(sorted(c.value for c in caller.exposed or ()))
        raise Refused(
            f"{key} is a {risk} skill and needs {NEEDS[risk]}, which cannot be given over {caller.role}; "
            f"the {caller.role} surface offers only {offered} skills",
            rule="not_exposed",
        )


def check(
    risk: RiskClass,
    key: str,
    params: dict[str, Any],
    edge: str,
    caller: Caller,
    approval: Approval | None,
) -> None:
    """Return if the call may run; raise Refused naming the rule otherwise."""
    check_exposed(risk, key, caller)
    if risk is RiskClass.SAFE:
        return
    if risk is RiskClass.DANGEROUS:
        raise Refused(
            f"{key} is a dangerous skill: it requires a signed SOP and two distinct approvers, "
            "and that approval workflow is not available yet",
            rule="dangerous_requires_sop",
        )
    if approval is None:
        raise Refused(
            f"{key} is a mutating skill and needs {NEEDS[RiskClass.MUTATING]}",
            rule="approval_required",
        )
    if caller.role in UNTRUSTED_ROLES:
        raise Refused(
            f"{key} requires approval, and approvals are never accepted from a {caller.role} caller",
            rule="untrusted_caller",
        )
    if approval.via not in GRANTING_ROLES[risk]:
        raise Refused(f"an approval granted via {approval.via} cannot approve a {risk} skill", rule="approval_channel")
    if approval.skill != key or approval.call_digest != call_digest(key, params, edge):
        raise Refused(
            f"the approval was granted for a different call than {key} with these params on {edge}",
            rule="approval_mismatch",
        )
