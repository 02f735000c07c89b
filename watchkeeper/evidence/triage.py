"""Deterministic triage: symptom -> playbook -> skills through invoke -> findings -> ranked
hypotheses -> `Report`. No LLM anywhere; the same report the LLM path will refine."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from watchkeeper.config import Settings
from watchkeeper.evidence import gatherers, logs, sweep
from watchkeeper.evidence.catalogue import load_catalogue
from watchkeeper.evidence.follow import Lead
from watchkeeper.evidence.hypotheses import rank
from watchkeeper.evidence.investigation import (
    Investigation,
    LiveSource,
    Progress,
    RecordedSource,
    Source,
    load_recording,
    save_recording,
)
from watchkeeper.evidence.playbooks import Playbook, choose, load_playbooks
from watchkeeper.evidence.report import Hypothesis, Reference, Report, RuledOut, Symptom, unique_actions
from watchkeeper.evidence.symptoms import targets
from watchkeeper.i18n import _, language, ngettext, speaking
from watchkeeper.skills.invoke import Invoker

log = logging.getLogger(__name__)


def playbooks_for(settings: Settings) -> dict[str, Playbook]:
    return load_playbooks(settings.triage.playbook_dirs, set(gatherers.GATHERERS))


def run_plan(inv: Investigation, playbook: Playbook) -> None:
    """The playbook's steps and the sweep at once, the services the symptom names, then the playbook's
    gatherers in order (each may build on the last), the logs nobody named, and every error followed."""
    steps = [partial(gatherers.run_step, inv, step.skill, step.params) for step in playbook.steps]
    t0 = time.monotonic()
    sweeps = [sweep.processes, sweep.mounts, sweep.kernel, sweep.connections, sweep.units, logs.logs_index]
    inv.parallel([*steps, *(partial(step, inv) for step in sweeps)])
    if "listening" not in inv.results:
        gatherers.run_step(inv, "listening_ports", {})
    sweep.discover(inv)
    sweep.inode_hogs(inv)
    sweep.changes(inv)
    swept = time.monotonic() - t0
    for name in playbook.gather:
        gatherers.GATHERERS[name](inv)
    t1 = time.monotonic()
    sweep.recent_logs(inv)
    sweep.follow_errors(inv)
    # The sweep's own cost (the playbook's first steps run beside it, so this is an upper bound).
    inv.results["sweep_s"] = round(swept + time.monotonic() - t1, 2)


def measured(inv: Investigation) -> str:
    """The host's numbers and the busiest processes: what "nothing abnormal" was measured against."""
    host = inv.results.get("host") or {}
    parts = []
    if host.get("cpu_percent") is not None:
        parts.append(_("CPU {percent:.0f}%").format(percent=host["cpu_percent"]))
    memory = host.get("memory") or {}
    if memory.get("percent") is not None:
        parts.append(_("memory {percent} used").format(percent=f"{memory['percent']:.0f}%"))
    if (host.get("load") or {}).get("1m") is not None:
        parts.append(_("load {load:.2f}").format(load=host["load"]["1m"]))
    busiest = [p for p in inv.results.get("top_cpu", [])[:2] if (p.get("cpu_percent") or 0) >= 5]
    if busiest:
        names = ", ".join(f"{p['name']} ({p['cpu_percent']:.0f}%)" for p in busiest)
        parts.append(_("busiest {processes}").format(processes=names))
    return _("; ").join(parts)


def summarize(report: Report, numbers: str = "") -> str:
    if not report.hypotheses:
        calls = ngettext(
            "Nothing abnormal stands out after {n} skill call: no root cause to name;",
            "Nothing abnormal stands out after {n} skill calls: no root cause to name;",
            len(report.calls),
        ).format(n=len(report.calls))
        listed = ngettext(
            "{n} finding listed for a person to read.",
            "{n} findings listed for a person to read.",
            len(report.findings),
        ).format(n=len(report.findings))
        seen = _(" Measured: {numbers}.").format(numbers=numbers) if numbers else ""
        # Two sentences: English puts a space between them, Chinese none.
        return _("{calls} {listed}").format(calls=calls, listed=listed) + seen
    top = report.hypotheses[0]
    runner_up = (
        _(" Next: {title} ({confidence:.2f}).").format(
            title=report.hypotheses[1].title, confidence=report.hypotheses[1].confidence
        )
        if len(report.hypotheses) > 1
        else ""
    )
    first = next((a for a in top.actions if a.skill), top.actions[0] if top.actions else None)
    fix = _(" Suggested fix: {title} ({risk}).").format(title=first.title, risk=_(first.risk_class)) if first else ""
    return _("Most likely {title} (confidence {confidence:.2f}).").format(
        title=top.title, confidence=top.confidence
    ) + (fix + runner_up)


def cite_knowledge(inv: Investigation, hypotheses: list[Any]) -> list[Reference]:
    """Runbooks and similar past cases for the symptom and the top hypothesis, through query_knowledge."""
    s = inv.symptom
    words = [s.alertname or "", s.question or "", *s.annotations.values()]
    if hypotheses:
        # The rule's name too: it is English whatever the report's language, as the runbooks often are.
        top = hypotheses[0]
        words += [top.title, (top.rule or "").replace("_", " "), top.category.replace("_", " ")]
    query = " ".join(w for w in words if w).strip()
    if not query:
        return []
    found = inv.call("query_knowledge", query=query[:500], limit=4) or {}
    return [Reference(id=h["id"], title=h["title"], source=h["source"]) for h in found.get("hits", [])]


def ruled_out(leads: list[Lead], hypotheses: list[Hypothesis]) -> list[RuledOut]:
    """Errors followed to an object that the check found healthy: said, so nobody checks them again."""
    top = hypotheses[0].culprit if hypotheses else None
    out = []
    for lead in leads:
        if not lead.refuted or (top is not None and lead.culprit == top):
            continue
        reason = _("{service} logs {error}, but the check did not confirm it now").format(
            service=lead.service, error=lead.signature.name.replace("_", " ")
        )
        out.append(RuledOut(entity=lead.culprit, facts=lead.facts, reason=reason))
    return out


def build_report(inv: Investigation, playbook: Playbook, started_at: datetime, duration_s: float) -> Report:
    hypotheses = rank(inv, playbook.name)
    leads: list[Lead] = inv.results.get("leads", [])
    references = cite_knowledge(inv, hypotheses)
    actions = unique_actions(a for h in hypotheses for a in h.actions)
    severity = {"crit": 0, "warn": 1, "info": 2}
    findings = sorted(inv.findings, key=lambda f: severity[f.severity])
    report = Report(
        id=inv.id,
        summary="",
        symptom=inv.symptom,
        playbook=playbook.name,
        hypotheses=hypotheses,
        findings=findings,
        actions=actions,
        references=references,
        calls=inv.call_records(),
        checked=[*inv.checked, *(fact for lead in leads for fact in lead.facts)],
        ruled_out=[*inv.results.get("ruled_out", []), *ruled_out(leads, hypotheses)],
        notes=inv.notes,
        started_at=started_at,
        duration_s=round(duration_s, 2),
        sweep_s=inv.results.get("sweep_s"),
        language=language(),
    )
    report.summary = summarize(report, measured(inv))
    return report


def open_investigation(
    settings: Settings,
    symptom: Symptom,
    source: Source,
    log_roots: list[Path],
    services: dict[str, Any],
    **kwargs: Any,
) -> tuple[Investigation, Playbook]:
    """The investigation of a symptom over a source of skill results, and the playbook it follows."""
    playbook = choose(playbooks_for(settings), symptom)
    named = {k: v.get("aliases", []) for k, v in services.items()}
    catalogue = load_catalogue(settings.triage.signature_dirs)
    inv = Investigation(symptom, targets(symptom, named), source, log_roots, services, catalogue, **kwargs)
    inv.results.update(
        sample_seconds=settings.triage.sample_seconds,
        playbook=playbook.name,
        prometheus=bool(settings.observability.prometheus_url),
    )
    return inv, playbook


def analyse(inv: Investigation, playbook: Playbook) -> Report:
    """The whole analysis: the plan, then the report. The same whether the source is live or recorded."""
    started_at, t0 = datetime.now(UTC), time.monotonic()
    inv.progress(f"playbook {playbook.name}: {playbook.description}")
    run_plan(inv, playbook)
    return build_report(inv, playbook, started_at, time.monotonic() - t0)


def investigate(settings: Settings, invoker: Invoker, symptom: Symptom, progress: Progress | None = None) -> Report:
    services = {k: v.model_dump(mode="json") for k, v in settings.triage.services.items()}
    inv, playbook = open_investigation(
        settings, symptom, LiveSource(invoker), settings.read_roots, services, progress=progress or (lambda _m: None)
    )
    with speaking(settings.report.language):
        report = analyse(inv, playbook)
        try:
            save_recording(settings.data_dir, inv, report.model_dump(mode="json"))
        except OSError as exc:
            # The night the data disk is full is the night the report is needed: the recording is a bonus.
            note = _("the recording could not be saved ({error}); --replay {id} will not find it").format(
                error=exc.strerror or exc, id=report.id
            )
            log.warning("warning: %s", note)
            report.notes.append(note)
    return report


def replay(settings: Settings, inv_id: str) -> Report:
    """The same analysis over a recorded investigation's outputs, touching nothing on the host."""
    data = load_recording(settings.data_dir, inv_id)
    symptom = Symptom.model_validate(data["symptom"])
    source = RecordedSource(list(data["calls"]))
    inv, playbook = open_investigation(
        settings, symptom, source, [Path(p) for p in data["log_roots"]], data["services"], id=data["id"]
    )
    inv.results["prometheus"] = any(c.skill == "query_promql" for c in data["calls"])
    with speaking(settings.report.language):
        report = analyse(inv, playbook)
        report.notes.append(_("replayed from the recording of {id}").format(id=inv_id))
    return report


def compression(report: Report, recording_path: Path) -> float:
    """Raw bytes gathered / bytes in the report: how much the engine condensed."""
    data: dict[str, Any] = json.loads(recording_path.read_text())
    raw = sum(len(json.dumps(c["result"], default=str)) for c in data["calls"])
    return raw / max(1, len(report.model_dump_json()))
