"""Resolved incidents become cases; how well their fix worked steers later retrieval."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ValidationError

from watchkeeper.errors import WatchkeeperError
from watchkeeper.evidence.report import Report
from watchkeeper.inputs import first_problem, json_type
from watchkeeper.knowledge.base import KnowledgeBase
from watchkeeper.knowledge.ingest import Document, case_text

Outcome = Literal["yes", "no", "partly"]


class LearnError(WatchkeeperError):
    """A case cannot be learned or updated."""


def reports_in(raw: Any, source: str, index: int | None = None) -> list[tuple[int, Report]]:
    """The reports in what `wk investigate --json` printed: one report (numbered 0) or a list of them
    (one per firing alert, numbered from 1); `index` picks one of a list. `source` names it in errors."""
    if isinstance(raw, list):
        if not raw:
            raise LearnError(f"{source} is an empty list: no report to learn")
        items = list(enumerate(raw, start=1))
    elif index is not None:
        raise LearnError(f"--index needs a list of reports; {source} holds one report")
    else:
        items = [(0, raw)]
    if index is not None:
        if not 1 <= index <= len(items):
            raise LearnError(f"--index takes 1 to {len(items)}: {source} holds {len(items)} reports")
        items = [items[index - 1]]
    reports = []
    for n, item in items:
        where = f"{source}, item {n}," if n else source
        if not isinstance(item, dict):
            raise LearnError(f"{where} is not a report from wk investigate --json: it is {json_type(item)}")
        try:
            reports.append((n, Report.model_validate(item)))
        except ValidationError as exc:
            raise LearnError(f"{where} is not a report from wk investigate --json: {first_problem(exc)}") from None
    return reports


def fingerprint(report: Report) -> str:
    """What makes two incidents the same problem: the root cause, its culprit and the alert."""
    top = report.hypotheses[0] if report.hypotheses else None
    culprit = f"{top.culprit.kind}:{top.culprit.name}" if top and top.culprit else "-"
    cause = (top.rule or top.category) if top else "unknown"  # the rule: categories are coarser than causes
    return f"{cause}|{culprit}|{report.symptom.alertname or '-'}"


def _case(report: Report, fix: str) -> dict[str, Any]:
    top = report.hypotheses[0] if report.hypotheses else None
    s = report.symptom
    symptom = " ".join(filter(None, [s.alertname, s.question, ", ".join(f"{k}={v}" for k, v in s.labels.items())]))
    return {
        "title": top.title if top else report.summary,
        "symptom": symptom or report.summary,
        "findings": [f.message for f in report.findings[:6]],
        "root_cause": f"{top.category}: {top.title}" if top else "unknown",
        "fixes": [fix],
        "services": [s.labels["service"]] if s.labels.get("service") else [],
        "alerts": [s.alertname] if s.alertname else [],
    }


def learn(kb: KnowledgeBase, report: Report, fix: str, worked: Outcome) -> tuple[str, bool]:
    """Record the incident as a case, or merge it into the case of the same problem; (case id, merged)."""
    key = fingerprint(report)
    existing = next((d for d in kb.documents("case") if d["meta"].get("fingerprint") == key), None)
    if existing is not None:
        meta = existing["meta"]
        meta["outcomes"][worked] = meta["outcomes"].get(worked, 0) + 1
        meta["recurrences"] = meta.get("recurrences", 1) + 1
        if fix not in meta["fixes"]:
            meta["fixes"].append(fix)
        case = {**_case(report, fix), "fixes": meta["fixes"]}
        kb.update_meta(existing["id"], meta, case_text(case))
        return existing["id"], True
    case = _case(report, fix)
    meta = {
        "alerts": case["alerts"],
        "services": case["services"],
        "severity": None,
        "tags": [],
        "root_cause": case["root_cause"],
        "fixes": case["fixes"],
        "fingerprint": key,
        "report_id": report.id,
        "outcomes": {"yes": 0, "partly": 0, "no": 0} | {worked: 1},
        "recurrences": 1,
    }
    doc = Document(f"learned:{key}", "case", case["title"], meta, case_text(case), report.model_dump_json())
    kb.add_document(doc)
    found = next(d for d in kb.documents("case") if d["source"] == f"learned:{key}")
    return found["id"], False


def feedback(kb: KnowledgeBase, case_id: str, worked: Outcome) -> dict[str, Any]:
    """One more outcome for a case's fix; returns its updated metadata."""
    doc = kb.get(case_id)
    if doc is None or doc["type"] != "case":
        raise LearnError(f"no case {case_id} (wk kb list --type case shows them)")
    meta = doc["meta"]
    meta.setdefault("outcomes", {"yes": 0, "partly": 0, "no": 0})
    meta["outcomes"][worked] = meta["outcomes"].get(worked, 0) + 1
    kb.update_meta(case_id, meta)
    return dict(meta)
