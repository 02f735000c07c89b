"""Rules over logs: a new error since a change, and each error followed to its object (evidence/follow.py),
the blame going upstream when the check confirms it."""

from __future__ import annotations

from typing import Any

from watchkeeper.evidence.anomaly import human_duration
from watchkeeper.evidence.facts import Checked, LogErrors, PortNotListening, RecentChange
from watchkeeper.evidence.follow import Lead, silent_service
from watchkeeper.evidence.gather import finding
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.report import Action, Culprit, Finding, Hypothesis
from watchkeeper.evidence.scoring import (
    Score,
    hypothesis,
    kill,
    manual,
    of,
    own_changes,
    restart,
)
from watchkeeper.i18n import _


def error_burst(inv: Investigation, family: str) -> Hypothesis | None:
    novel = [
        f
        for f in of(inv, LogErrors, "target")
        if f.data.novel
        and f.data.count >= 10
        and not _explained_upstream(inv, f)
        and not ({"upstream", "timeout", "exhausted"} & set(f.data.words))
    ]
    if not novel or novel[0].entity is None:
        return None
    f = novel[0]
    s = Score(
        0.5, _("a new error template appeared x{count} that the earlier log does not have").format(count=f.data.count)
    )
    s.add(0.15, _("it reads like an exception"), "exception" in f.data.words)
    s.add(0.1, _("it mentions configuration"), "config" in f.data.words)
    s.add(0.1, _("the symptom is about errors"), family == "http_errors")
    service = f.entity.name  # type: ignore[union-attr]
    changed = own_changes(inv, service)
    s.add(
        0.1,
        _("a file of {service} changed shortly before: {change}").format(service=service, change=changed[0].message)
        if changed
        else "",
        bool(changed),
    )
    rollback = (
        _("roll back {path} (changed {ago} ago)").format(
            path=changed[0].data.path, ago=human_duration(changed[0].data.ago_s)
        )
        if changed
        else _("roll back the latest config or deploy of {service}").format(service=service)
    )
    return hypothesis(
        "application",
        _("{service} throws a new error since a change").format(service=service),
        s,
        f.entity,
        [f, *novel[1:2], *changed[:1]],
        [
            manual(rollback, _("the errors start with a change")),
            restart(service, _("after the rollback, restart it so it reads the old config")),
        ],
    )


def _explained_upstream(inv: Investigation, f: Finding[LogErrors]) -> bool:
    """A log template whose error was followed to a confirmed cause elsewhere: the service is its victim."""
    return any(lead.finding is f and lead.confirmed and lead.upstream for lead in inv.results.get("leads", []))


def _lead_action(lead: Lead) -> Action:
    fix, culprit = lead.signature.fix, lead.culprit
    facts = _("; ").join(lead.facts) or _("from the log")
    why = _("{signature}: {facts}").format(signature=lead.signature.name, facts=facts)
    if fix.skill == "restart_service" and culprit is not None and culprit.kind in ("service", "process"):
        return restart(culprit.name, why)
    if fix.skill == "kill_process" and culprit is not None and culprit.pid is not None:
        return kill(culprit.pid, culprit.name, why)
    if fix.skill and culprit is not None and culprit.kind == "port":
        return manual(_("start what should listen on {port} (nothing does now)").format(port=culprit.name), why)
    return manual(lead.fill(_(fix.title)), why)  # the catalog's translation, or an operator's own words


def _misdirected(lead: Lead, s: Score, evidence: list[Finding[Any]], change: RecentChange) -> Hypothesis:
    """Nothing anywhere listens where the service now connects, and its own config changed shortly
    before: the change points it at the wrong place; the dependency is not what broke."""
    ago = human_duration(change.ago_s)
    s.add(0.05, _("its own config changed {ago} before: {path}").format(ago=ago, path=change.path))
    found = hypothesis(
        "application",
        _("{service} connects to {object}, where nothing listens, since a change of its config").format(
            service=lead.service, object=lead.object
        ),
        s,
        Culprit(kind="service", name=lead.service),
        evidence,
        [
            manual(
                _(
                    "check the address {service} uses in {path} (changed {ago} ago): nothing listens on {object}; "
                    "put back the right one"
                ).format(service=lead.service, path=change.path, ago=ago, object=lead.object),
                _("the errors start with the change, and no service is down"),
            ),
            restart(lead.service, _("after the config is fixed, so it reads it")),
        ],
    )
    return found.model_copy(update={"rule": "misdirected"})


def _explains_symptom(inv: Investigation, lead: Lead) -> bool:
    """The lead is about the symptom's service or port, or about the service that should hold the port
    nobody listens on (its error is why it is down)."""
    t = inv.targets
    ports = {lead.culprit.port if lead.culprit else None, _port_of(lead.object)}
    service = t.service or (silent_service(inv) if of(inv, PortNotListening) else None)
    return (service is not None and service in (lead.service, lead.culprit.name if lead.culprit else None)) or (
        t.port is not None and t.port in ports
    )


def _port_of(obj: str | None) -> int | None:
    tail = (obj or "").rpartition(":")[2]
    return int(tail) if tail.isdigit() else None


def error_leads(inv: Investigation, family: str) -> list[Hypothesis]:
    """One hypothesis per error followed to its object (evidence/follow.py), the culprit being what the
    check found behind the error when it found something: the dependency that refuses, the lock's holder."""
    out = []
    for lead in inv.results.get("leads", []):
        if lead.refuted:
            continue  # the check looked and found the object well: the report rules it out instead
        f = lead.finding
        count = f.data.count
        signature, facts = lead.signature.name.replace("_", " "), _("; ").join(lead.facts)
        s = Score(
            0.45,
            _("{service}'s log x{count}: {signature}").format(service=lead.service, count=count, signature=signature),
        )
        s.add(0.25, _("checked: {facts}").format(facts=facts), lead.confirmed)
        s.add(0.1, _("the blame lies upstream of the service that logs it"), lead.confirmed and lead.upstream)
        s.add(0.05, _("it repeats (x20 or more)"), count >= 20)
        s.add(
            0.2,
            _("{service} exits again and again (x{count})").format(service=lead.service, count=count),
            lead.signature.name == "process_exited" and count >= 3,
        )
        s.add(0.1, _("it explains the symptom"), _explains_symptom(inv, lead))
        evidence = finding(Checked(), "crit" if lead.confirmed else "warn", facts, lead.audit_ids)
        changed = own_changes(inv, lead.service)
        if lead.confirmed and lead.culprit is not None and lead.culprit.kind == "port" and changed:
            out.append(_misdirected(lead, s, [f, evidence, changed[0]], changed[0].data))
            continue
        found = hypothesis(
            lead.signature.category,
            lead.fill(_(lead.signature.title)),  # the catalog's translation, or an operator's own words
            s,
            lead.culprit,
            [f, *([evidence] if lead.facts else [])],
            [_lead_action(lead)],
        )
        out.append(found.model_copy(update={"rule": lead.signature.name}))
    return out
