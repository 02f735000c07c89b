"""Incident messages as Reports: what the notifier says when an incident is diagnosed, changes, or resolves.

The senders and their renderers take a `Report` and escape every word of it for their medium, so an
incident message is built as one: the words added here are plain sentences from the catalog, and the
incident's own text (title, change, targets — alert labels, so untrusted) only fills their placeholders.
Messages the rate limiter held back are folded into the next one, a line each in its notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from watchkeeper.evidence.anomaly import human_duration
from watchkeeper.evidence.report import Report, Symptom
from watchkeeper.i18n import N_, Phrase, _, ngettext, speaking

# An incident's severities and statuses (alerts/model.py, store/models.py), said in the message's language.
STATE_WORDS = (
    N_("critical"),
    N_("warning"),
    N_("info"),
    N_("open"),
    N_("investigating"),
    N_("diagnosed"),
    N_("remediating"),
    N_("resolved"),
    N_("closed"),
)
MAX_TARGETS_SHOWN = 5
# Renderers show a report's first five notes: four folded messages and a count of the rest fit.
MAX_FOLDED_SHOWN = 4


class Notice(BaseModel):
    """One message about one incident, as the notifier queued it."""

    kind: Literal["diagnosed", "update", "resolved"]
    incident_id: int
    title: str
    severity: str = Field(min_length=1)  # said through the catalog, where "" is the catalog's header
    status: str = Field(min_length=1)
    opened_at: datetime
    resolved_at: datetime | None = None
    alert_count: int = Field(ge=0)
    targets: list[str] = Field(default_factory=list)
    change: Phrase | None = Field(None, description="What changed (an update): 'X on Y fired again'.")
    fixed_by: Phrase | None = Field(None, description="What fixed it (resolved): 'every alert resolved'.")
    report: Report | None = Field(None, description="The diagnosis (diagnosed).")
    url: str | None = Field(None, description="The incident in the API.")

    @model_validator(mode="after")
    def _resolved_has_its_time(self) -> Notice:
        if self.kind == "resolved" and self.resolved_at is None:
            raise ValueError("resolved_at: a resolved notice says how long the incident lasted")
        return self


def as_report(notices: Sequence[Notice], language: str) -> Report:
    """The first notice as a message in `language`; the others (folded by the rate limiter) a line each in its notes."""
    if not notices:
        raise ValueError("notices: as_report needs at least one notice")
    with speaking(language):
        first, *folded = notices
        report = _diagnosed(first, first.report) if first.kind == "diagnosed" and first.report else _built(first)
        return report.model_copy(update={"language": language, "notes": [*_also(folded), *report.notes]})


def _said(text: str) -> str:
    """Untrusted text on one line: it fills a placeholder in one line of the summary, which renderers split."""
    return " ".join(text.split())


def heading(n: Notice) -> str:
    """`[critical] incident #7: orders-db is down — 42 alerts on 9 targets`."""
    alerts = ngettext("{n} alert", "{n} alerts", n.alert_count).format(n=n.alert_count)
    targets = ngettext("on {n} target", "on {n} targets", len(n.targets)).format(n=len(n.targets))
    return _("[{severity}] incident #{id}: {title} — {alerts} {targets}").format(
        severity=_(n.severity), id=n.incident_id, title=_said(n.title), alerts=alerts, targets=targets
    )


def lasted(n: Notice) -> str:
    """How long the incident lasted (or has been open): '14 min'."""
    end = n.resolved_at or n.opened_at
    return human_duration(max((end - n.opened_at).total_seconds(), 0.0))


def _diagnosed(n: Notice, diagnosis: Report) -> Report:
    """The investigation's report, headed by the incident."""
    # The diagnosis is one paragraph: a model's line break must not make a line that reads as ours ("Details: …").
    lines = [heading(n), " ".join(diagnosis.summary.split()), *_link(n)]
    return diagnosis.model_copy(update={"id": f"incident-{n.incident_id}-{n.kind}", "summary": "\n".join(lines)})


def _link(n: Notice) -> list[str]:
    return [_("Details: {url}").format(url=_said(n.url))] if n.url else []


def _built(n: Notice) -> Report:
    """A message of a few lines: the incident, what happened, where it stands."""
    if n.kind == "resolved":
        said = _("Resolved after {duration}.").format(duration=lasted(n))
        if n.fixed_by:
            said = _("Resolved after {duration}: {fixed_by}").format(
                duration=lasted(n), fixed_by=_said(n.fixed_by.said())
            )
    elif n.kind == "update":
        said = _("Update: {change}").format(change=_said(n.change.said())) if n.change else _("Updated.")
    else:
        said = _("Diagnosed, but the investigation left no report.")
    lines = [heading(n), said]
    if n.kind != "resolved":
        lines.append(_("Status: {status}").format(status=_(n.status)))
    if n.targets:
        shown = ", ".join(_said(t) for t in n.targets[:MAX_TARGETS_SHOWN])
        more = len(n.targets) - MAX_TARGETS_SHOWN
        if more > 0:
            shown = _("{targets} and {n} more").format(targets=shown, n=more)
        lines.append(_("Targets: {targets}").format(targets=shown))
    return Report(
        id=f"incident-{n.incident_id}-{n.kind}",
        summary="\n".join([*lines, *_link(n)]),
        symptom=Symptom(question=_("incident #{id}: {title}").format(id=n.incident_id, title=_said(n.title))),
        started_at=n.resolved_at or n.opened_at,
    )


def _also(folded: Sequence[Notice]) -> list[str]:
    lines = [_one_line(n) for n in folded[:MAX_FOLDED_SHOWN]]
    rest = len(folded) - MAX_FOLDED_SHOWN
    if rest > 0:
        lines.append(
            ngettext("also: {n} more incident message", "also: {n} more incident messages", rest).format(n=rest)
        )
    return lines


def _one_line(n: Notice) -> str:
    """A folded notice: 'also: incident #12 resolved after 14 min: disk full on db-2'."""
    title = _said(n.title)
    if n.kind == "resolved":
        return _("also: incident #{id} resolved after {duration}: {title}").format(
            id=n.incident_id, duration=lasted(n), title=title
        )
    if n.kind == "update" and n.change:
        return _("also: incident #{id} ({title}): {change}").format(
            id=n.incident_id, title=title, change=_said(n.change.said())
        )
    return _("also: incident #{id} is {status}: {title}").format(id=n.incident_id, status=_(n.status), title=title)
