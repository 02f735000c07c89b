"""The neutral walk over a Report: what a message says, in spans that say which words are ours.

Every value taken from the report is untrusted (it came from logs, alerts, files, HTTP bodies or a
model) and is cleaned here, once, for every medium; the words the walk adds are our own. Renderers
(`markup.Markup` and its subclasses) only decide how to write spans, escaping every span by their
medium's rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from watchkeeper.evidence.report import Action, Hypothesis, Report
from watchkeeper.humanize import pairs
from watchkeeper.notify.render.clean import clean

Style = Literal["plain", "strong", "emphasis", "code"]


@dataclass(frozen=True)
class Span:
    text: str
    style: Style = "plain"


Line = tuple[Span, ...]


@dataclass(frozen=True)
class Item:
    line: Line
    details: tuple[Line, ...] = ()


@dataclass(frozen=True)
class Section:
    heading: str
    items: tuple[Item, ...]
    numbered: bool = False


@dataclass(frozen=True)
class Document:
    title: Line
    paragraphs: tuple[Line, ...]
    sections: tuple[Section, ...]
    footer: Line


def said(text: object, style: Style = "plain", limit: int = 500) -> Span:
    """Words from the report: untrusted, cleaned."""
    return Span(clean(str(text), limit), style)


def ours(text: str, style: Style = "plain") -> Span:
    return Span(text, style)


def title_line(report: Report) -> Line:
    s = report.symptom
    return (ours("[watchkeeper] "), said(s.alertname or s.question or "investigation", limit=80))


def _hypothesis(h: Hypothesis) -> Item:
    line = [said(h.title, "strong", 200), ours(f" (confidence {h.confidence:.2f})")]
    if h.culprit:
        line += [ours(" — culprit: "), said(h.culprit.kind), ours(" "), said(h.culprit.name, "code", 200)]
    details: list[Line] = [(said(e),) for e in h.evidence[:3]]
    if h.explanation:
        details.append((ours("why:", "emphasis"), ours(" "), said(h.explanation)))
    return Item(tuple(line), tuple(details))


def _action(a: Action) -> Item:
    line = [said(a.title, limit=200), ours(" — ")]
    if a.skill:
        line.append(said(a.skill, "code", 80))
        if a.params:
            line += [ours(" "), said(pairs(a.params), "code", 300)]
        if a.edge != "local":
            line += [ours(" on "), said(a.edge, "code", 80)]
        line += [ours(" ("), said(a.risk_class), ours(")")]
    else:
        line.append(ours("manual step"))
    if a.reason:
        line += [ours(": "), said(a.reason, limit=300)]
    if a.proposed_by == "model":
        line.append(ours(" · proposed by the model"))
    if a.untrusted:
        line += [ours(" "), ours("⚠ echoes suspicious untrusted text: check before approving", "emphasis")]
    return Item(tuple(line))


def _footer(report: Report) -> Line:
    n = len(report.calls)
    line = [ours(f"{n} skill call{'' if n == 1 else 's'} in {report.duration_s:.1f}s · report "), said(report.id)]
    if report.mode == "llm" and report.usage:
        line += [ours(" · model "), said(report.usage.model)]
    else:
        line.append(ours(" · deterministic triage"))
    if report.playbook:
        line += [ours(" (playbook "), said(report.playbook), ours(")")]
    if report.partial:
        line.append(ours(" · partial"))
    return tuple(line)


def walk(report: Report, max_findings: int = 8) -> Document:
    paragraphs: list[Line] = [(said(p, limit=1000),) for p in report.summary.splitlines() if p.strip()]
    labels = sorted(report.symptom.labels.items())
    if labels:
        line: list[Span] = [ours("Alert labels:", "strong"), ours(" ")]
        for i, (k, v) in enumerate(labels):
            line += [ours(", ")] if i else []
            line.append(said(f"{k}={v}", "code", 200))
        paragraphs.append(tuple(line))
    sections = [
        Section("Root cause", tuple(_hypothesis(h) for h in report.hypotheses[:3]), numbered=True),
        Section("Recommended actions", tuple(_action(a) for a in report.actions[:5])),
        Section(
            "Suspicious lines (read like instructions to the agent)",
            tuple(
                Item((said(x.source), ours(": "), said(x.line, "code", 160), ours(" ("), said(x.why), ours(")")))
                for x in report.suspicious[:5]
            ),
        ),
        Section(
            "References",
            tuple(
                Item(
                    (said(r.title, limit=200), ours(" ("), said(r.id, "code", 80))
                    + ((ours(", "), said(r.source)) if r.source else ())
                    + (ours(")"),)
                )
                for r in report.references[:5]
            ),
        ),
        Section(
            "Findings",
            tuple(
                Item((ours(f.severity.upper(), "strong"), ours(" "), said(f.message)))
                for f in report.findings[:max_findings]
            ),
        ),
        Section(
            "Ruled out",
            tuple(
                Item(
                    (said(r.entity.name if r.entity else "-", "code", 120), ours(": "), said(r.reason))
                    + ((ours(" ("), said("; ".join(r.facts), limit=300), ours(")")) if r.facts else ())
                )
                for r in report.ruled_out[:5]
            ),
        ),
        Section("Checked", tuple(Item((said(c, limit=300),)) for c in report.checked[:8])),
        Section("Notes", tuple(Item((said(n),)) for n in report.notes[:5])),
    ]
    return Document(title_line(report), tuple(paragraphs), tuple(s for s in sections if s.items), _footer(report))
