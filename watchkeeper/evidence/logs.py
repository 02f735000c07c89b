"""A service's own logs: its files found by convention or configuration, mined into templates against
the lines before the failures began, the worst and those a signature recognises kept as findings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from watchkeeper.evidence.catalogue import classify
from watchkeeper.evidence.facts import ClockSkew, JournalErrors, LogErrors, ProcessCpu, ProcessMemoryGrowth
from watchkeeper.evidence.gather import finding, gatherer
from watchkeeper.evidence.investigation import Investigation
from watchkeeper.evidence.log_templates import mine, severity_of
from watchkeeper.evidence.report import Culprit, Finding
from watchkeeper.evidence.scoring import of
from watchkeeper.evidence.timeparse import clock_skew, parse_timestamp
from watchkeeper.i18n import N_, _, ngettext

TAIL_LINES = 2000
LOG_FILES_PER_SERVICE = 4
LOGS_INDEXED = 50
ONSET = timedelta(minutes=30)  # how far before the alert the failures may have begun

KEYWORDS = {
    "exhausted": re.compile(
        r"(?i)(pool|workers?|threads?|connections?|slots?)\b.{0,40}\b(exhausted|busy|full|"
        r"depleted|limit reached)|no (free|idle|available) (workers?|threads?|connections?)"
    ),
    "timeout": re.compile(r"(?i)\btimed? ?out\b|\btimeout\b|deadline exceeded"),  # not "request_timeout_ms"
    "refused": re.compile(r"(?i)connection refused|connect\(\) failed|ECONNREFUSED"),
    "upstream": re.compile(r"(?i)upstream|bad gateway|\b502\b|\b504\b"),
    "exception": re.compile(r"(?i)exception|traceback|error:|fatal"),
    "config": re.compile(r"(?i)config|configuration|setting|reload"),
    "memory": re.compile(r"(?i)out of memory|oom|cannot allocate|memoryerror"),
}

ADDRESS = re.compile(r"(?:https?://)?(\d{1,3}(?:\.\d{1,3}){3}|localhost|[a-z][\w.-]*\.[a-z]{2,}):(\d{2,5})")

URL = re.compile(r"https?://[^\s\"',)]+")
# A template in a finding, by (novel, error-like).
TEMPLATE_KINDS = {
    (True, True): N_("new error template"),
    (False, True): N_("error template"),
    (True, False): N_("new template"),
    (False, False): N_("template"),
}


def logs_index(inv: Investigation) -> list[dict[str, Any]]:
    """The allowlist's log files, newest first, with their services — read once, through list_logs, so a
    replay sees the same list: a service's logs, the sweep's recent ones, the names a question may use."""
    if "logs_index" not in inv.results:
        inv.results["logs_index"] = (inv.call("list_logs", limit=LOGS_INDEXED) or {}).get("logs", [])
    return list(inv.results["logs_index"])


def _log_files(inv: Investigation, service: str) -> list[str]:
    """The operator's configured logs of a service, then the allowlist's (newest first, from list_logs):
    those in its directory and those named after it, current files only (not app.log.1)."""
    found = [str(p) for p in inv.services.get(service, {}).get("logs", [])]
    name = service.lower()
    for log in logs_index(inv):
        current = not re.search(r"\.\d+$", log["path"])
        if current and (log["service"] == service or name in Path(log["path"]).name.lower()):
            found.append(log["path"])
    return list(dict.fromkeys(found))[:LOG_FILES_PER_SERVICE]


def _split(lines: list[str], since: datetime | None) -> tuple[list[str], list[str]]:
    """Baseline and recent lines. With timestamps, the failures began at the first error line of the
    ONSET window before the alert (or before the newest line: an alert fires minutes after the first
    failures); without any error there, the last minute before it. Without timestamps, halves."""
    stamps = [parse_timestamp(line) for line in lines]
    known = [s for s in stamps if s is not None]
    if len(known) >= max(1, len(lines) // 2):
        end = since or max(known)
        start = end - ONSET
        onset = next(
            (i for i, s in enumerate(stamps) if s is not None and s >= start and severity_of(lines[i]) == 2), None
        )
        if onset is None:
            cut = end - timedelta(minutes=1)
            onset = next((i for i, s in enumerate(stamps) if s is not None and s >= cut), len(lines))
        return lines[:onset], lines[onset:]
    half = len(lines) // 2
    return lines[:half], lines[half:]


def service_log_findings(inv: Investigation, service: str, role: str = "target") -> list[Finding[LogErrors]]:
    """Mine a service's logs; findings for its error templates, with the words that explain them."""
    added: list[Finding[LogErrors]] = []
    inv.results.setdefault("logs_read", []).append(service)
    for path in _log_files(inv, service):
        tail = inv.call("tail_file", path=path, lines=TAIL_LINES)
        if not tail or not tail.get("lines"):
            continue
        lines = tail["lines"]
        newest = next((t for t in (parse_timestamp(x) for x in reversed(lines)) if t), None)
        skew = clock_skew(newest, datetime.now(UTC))
        ids = inv.audit_ids("tail_file")[-1:]
        if skew is not None:
            inv.add(
                finding(
                    ClockSkew(ahead_s=skew.total_seconds()),
                    "warn",
                    _(
                        "{path} has entries {seconds:.0f}s in the future: this host's clock (or the log's zone) is off"
                    ).format(path=path, seconds=skew.total_seconds()),
                    ids,
                )
            )
        baseline, recent = _split(lines, inv.symptom.starts_at)
        templates = mine(recent, baseline)
        # The worst templates, and any a signature of the catalogue recognises whatever its level
        # ("INFO worker exited with status 1" is a crash, "Can't synchronise" a clock adrift).
        worst = [t for t in templates if t.severity == 2][:3]
        known = [t for t in templates if t not in worst and classify(inv.catalogue, t.example)][:3]
        errors = sum(t.count for t in templates if t.severity == 2)
        recent_lines = ngettext("{n} recent line", "{n} recent lines", len(recent)).format(n=len(recent))
        inv.checked.append(
            _("{service} log {file}: {recent}, {errors} in {templates}").format(
                service=service,
                file=Path(path).name,
                recent=recent_lines,
                errors=ngettext("{n} error line", "{n} error lines", errors).format(n=errors),
                templates=ngettext("{n} template", "{n} templates", len(worst)).format(n=len(worst)),
            )
            if errors
            else _("{service} log {file}: {recent}, no error").format(
                service=service, file=Path(path).name, recent=recent_lines
            )
        )
        for tpl in worst + known:
            lines_of = [x for x in recent if x.strip()][tpl.first_line - 1 : tpl.last_line]
            # A line a signature explains is followed to its object (follow.py); the dependency heuristics
            # (URLs timing out) leave it alone.
            signatures = [sig.name for sig in classify(inv.catalogue, tpl.example)]
            words = sorted(k for k, rx in KEYWORDS.items() if rx.search(tpl.example))
            addresses = [(h, int(p)) for h, p in ADDRESS.findall(" ".join(lines_of[:50]))]
            urls = URL.findall(tpl.example)
            fact = LogErrors(
                service=service,
                path=path,
                role=role,
                template=tpl.template,
                count=tpl.count,
                novel=tpl.novel,
                example=tpl.example[:300],
                words=words,
                signatures=signatures,
                addresses=addresses[:5],
                urls=urls[:3],
                baseline_lines=len(baseline),
                recent_lines=len(recent),
            )
            f = finding(
                fact,
                "crit" if tpl.count >= 20 else "warn",
                _("{kind} in {service} ({file}) x{count}: {template}").format(
                    kind=_(TEMPLATE_KINDS[(tpl.novel, tpl.severity == 2)]),
                    service=service,
                    file=Path(path).name,
                    count=tpl.count,
                    template=tpl.template[:160],
                ),
                ids,
                Culprit(kind="service", name=service),
            )
            inv.add(f)
            added.append(f)
    return added


@gatherer
def service_logs(inv: Investigation) -> None:
    names = [inv.targets.service] if inv.targets.service else []
    # The processes the host findings point at are services too, as far as their logs go.
    names += [f.entity.name for f in of(inv, ProcessCpu) + of(inv, ProcessMemoryGrowth) if f.entity]
    for name in dict.fromkeys(n for n in names if n):
        service_log_findings(inv, name)
    if inv.targets.service:
        journal = inv.call("read_journal", unit=inv.targets.service, since="1h", priority="warning", lines=200)
        if journal and journal.get("entries"):
            messages = [e["message"] for e in journal["entries"]]
            for tpl in mine(messages)[:2]:
                inv.add(
                    finding(
                        JournalErrors(example=tpl.example[:300]),
                        "warn",
                        _("journal of {service} x{count}: {template}").format(
                            service=inv.targets.service, count=tpl.count, template=tpl.template[:160]
                        ),
                        inv.audit_ids("read_journal"),
                        Culprit(kind="service", name=inv.targets.service),
                    )
                )
