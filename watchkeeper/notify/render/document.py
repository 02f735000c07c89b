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
from watchkeeper.i18n import N_, _, ngettext, speaking
from watchkeeper.notify.render.clean import clean

Style = Literal["plain", "strong", "emphasis", "code"]
# Words of the report's enums, said in its language: culprit kinds, risk classes, severities.
ENUM_WORDS = (
    N_("process"),
    N_("service"),
    N_("path"),
    N_("port"),
    N_("url"),
    N_("host"),
    N_("safe"),
    N_("mutating"),
    N_("dangerous"),
    N_("manual"),
    N_("CRIT"),
    N_("WARN"),
    N_("INFO"),
    N_("OK"),
)


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
    return (ours("[watchkeeper] "), said(s.alertname or s.question or _("investigation"), limit=80))


def _hypothesis(h: Hypothesis) -> Item:
    line = [said(h.title, "strong", 200), ours(_(" (confidence {confidence:.2f})").format(confidence=h.confidence))]
    if h.culprit:
        line += [ours(_(" — culprit: ")), said(_(h.culprit.kind)), ours(" "), said(h.culprit.name, "code", 200)]
    details: list[Line] = [(said(e),) for e in h.evidence[:3]]
    if h.explanation:
        details.append((ours(_("why:"), "emphasis"), ours(" "), said(h.explanation)))
    return Item(tuple(line), tuple(details))


def _action(a: Action) -> Item:
    line = [said(a.title, limit=200), ours(" — ")]
    if a.skill:
        line.append(said(a.skill, "code", 80))
        if a.params:
            line += [ours(" "), said(pairs(a.params), "code", 300)]
        if a.edge != "local":
            line += [ours(_(" on ")), said(a.edge, "code", 80)]
        line += [ours(" ("), said(_(a.risk_class)), ours(")")]
    else:
        line.append(ours(_("manual step")))
    if a.reason:
        line += [ours(": "), said(a.reason, limit=300)]
    if a.proposed_by == "model":
        line.append(ours(_(" · proposed by the model")))
    if a.untrusted:
        line += [ours(" "), ours(_("⚠ echoes suspicious untrusted text: check before approving"), "emphasis")]
    return Item(tuple(line))


def _footer(report: Report) -> Line:
    n = len(report.calls)
    if not n and not report.duration_s and not report.playbook:
        return (ours(_("message ")), said(report.id))  # an incident's message, not an investigation's report
    calls = ngettext("{n} skill call in {seconds:.1f}s · report ", "{n} skill calls in {seconds:.1f}s · report ", n)
    line = [ours(calls.format(n=n, seconds=report.duration_s)), said(report.id)]
    if report.mode == "llm" and report.usage:
        line += [ours(_(" · model ")), said(report.usage.model)]
    else:
        line.append(ours(_(" · deterministic triage")))
    if report.playbook:
        line += [ours(_(" (playbook ")), said(report.playbook), ours(")")]
    if report.partial:
        line.append(ours(_(" · partial")))
    return tuple(line)


def walk(report: Report, max_findings: int = 8) -> Document:
    """The report as a document, in the report's own language."""
    with speaking(report.language):
        return _walk(report, max_findings)


def _walk(report: Report, max_findings: int) -> Document:
    paragraphs: list[Line] = [(said(p, limit=1000),) for p in report.summary.splitlines() if p.strip()]
    labels = sorted(report.symptom.labels.items())
    if labels:
        line: list[Span] = [ours(_("Alert labels:"), "strong"), ours(" ")]
        for i, (k, v) in enumerate(labels):
            line += [ours(", ")] if i else []
            line.append(said(f"{k}={v}", "code", 200))
        paragraphs.append(tuple(line))
    sections = [
        Section(_("Root cause"), tuple(_hypothesis(h) for h in report.hypotheses[:3]), numbered=True),
        Section(_("Recommended actions"), tuple(_action(a) for a in report.actions[:5])),
        Section(
            _("Suspicious lines (read like instructions to the agent)"),
            tuple(
                Item((said(x.source), ours(": "), said(x.line, "code", 160), ours(" ("), said(x.why), ours(")")))
                for x in report.suspicious[:5]
            ),
        ),
        Section(
            _("References"),
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
            _("Findings"),
            tuple(
                Item((ours(_(f.severity.upper()), "strong"), ours(" "), said(f.message)))
                for f in report.findings[:max_findings]
            ),
        ),
        Section(
            _("Ruled out"),
            tuple(
                Item(
                    (said(r.entity.name if r.entity else "-", "code", 120), ours(": "), said(r.reason))
                    + ((ours(" ("), said("; ".join(r.facts), limit=300), ours(")")) if r.facts else ())
                )
                for r in report.ruled_out[:5]
            ),
        ),
        Section(_("Checked"), tuple(Item((said(c, limit=300),)) for c in report.checked[:8])),
        Section(_("Notes"), tuple(Item((said(n),)) for n in report.notes[:5])),
    ]
    return Document(title_line(report), tuple(paragraphs), tuple(s for s in sections if s.items), _footer(report))
