"""What every rule builds with: an explained score, the findings of a kind, the hypothesis, and the
actions (a skill with exact params and its risk class, or a manual step)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from watchkeeper.evidence.facts import RecentChange
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.report import Action, Category, Culprit, F, Finding, Hypothesis
from watchkeeper.i18n import _

Rule = Callable[[Investigation, str], Hypothesis | None]


class Score:
    def __init__(self, base: float, why: str) -> None:
        self.value, self.reasons = base, [f"{why} (+{base:.2f})"]

    def add(self, amount: float, why: str, when: bool = True) -> None:
        if when:
            self.value += amount
            self.reasons.append(f"{why} (+{amount:.2f})")

    @property
    def confidence(self) -> float:
        return round(min(self.value, 0.99), 2)

    @property
    def text(self) -> str:
        return _("; ").join(self.reasons)


def of(inv: Investigation, kind: type[F], role: str | None = None) -> list[Finding[F]]:
    """The findings of one kind of fact (and its subkinds), of one role when given."""
    return [
        cast(Finding[F], f) for f in inv.findings if isinstance(f.data, kind) and (role is None or f.data.role == role)
    ]


def biggest(inv: Investigation, kind: type[F], by: Callable[[F], float]) -> tuple[Finding[F], Culprit] | None:
    """The finding of a kind that is largest by a measure of its fact, with its entity (None when none)."""
    found = [f for f in of(inv, kind) if f.entity is not None]
    if not found:
        return None
    top = max(found, key=lambda f: by(f.data))
    assert top.entity is not None
    return top, top.entity


def own_changes(inv: Investigation, service: str) -> list[Finding[RecentChange]]:
    """The files of a service (its config, what it was started with) changed in the last hour."""
    return [c for c in of(inv, RecentChange) if c.data.service == service]


def hypothesis(
    category: Category,
    title: str,
    score: Score,
    culprit: Culprit | None,
    evidence: list[Finding[Any]],
    actions: list[Action],
) -> Hypothesis:
    ids = sorted({i for f in evidence for i in f.audit_ids})
    return Hypothesis(
        category=category,
        title=title,
        confidence=score.confidence,
        culprit=culprit,
        evidence=[f.message[:240] for f in evidence][:5],
        audit_ids=ids,
        explanation=score.text,
        actions=actions,
    )


def restart(service: str, why: str) -> Action:
    return Action(
        title=_("restart {service}").format(service=service),
        skill="restart_service",
        params={"unit": service},
        risk_class="mutating",
        reason=why,
    )


def kill(pid: int, name: str, why: str) -> Action:
    if pid <= 1:  # init: stopping it takes the host down; never proposed
        return manual(
            _("{name} is PID 1 (init) and cannot be stopped: find the process under it to blame").format(name=name), why
        )
    return Action(
        title=_("stop {name} (pid {pid})").format(name=name, pid=pid),
        skill="kill_process",
        params={"pid": pid, "signal": "TERM"},
        risk_class="mutating",
        reason=why,
    )


def probe(url: str, title: str, why: str) -> Action:
    return Action(title=title, skill="probe_http", params={"url": url}, risk_class="safe", reason=why)


def manual(title: str, why: str) -> Action:
    return Action(title=title, risk_class="manual", reason=why)


def mentions(inv: Investigation, *words: str) -> bool:
    text = " ".join([inv.symptom.question or "", inv.symptom.alertname or "", *inv.symptom.annotations.values()])
    return any(w in text.lower() for w in words)


def holds_target_port(inv: Investigation, pid: int | None) -> bool:
    port = inv.targets.port
    return (
        pid is not None
        and port is not None
        and any(p["port"] == port and p.get("pid") == pid for p in inv.results.get("listening", []))
    )
