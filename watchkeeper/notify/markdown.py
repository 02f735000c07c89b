"""A Report as Markdown: for `wk investigate --markdown` and chat platforms that render it."""

from __future__ import annotations

from watchkeeper.evidence.report import Report
from watchkeeper.redact import redact_text


def culprit_text(report: Report) -> str:
    top = report.hypotheses[0] if report.hypotheses else None
    if top is None or top.culprit is None:
        return "unknown"
    c = top.culprit
    extra = ", ".join(
        f"{k} {v}"
        for k, v in (("pid", c.pid), ("port", c.port), ("path", c.path), ("url", c.url))
        if v is not None and str(v) != c.name
    )
    return f"{c.kind} {c.name}" + (f" ({extra})" if extra else "")


def to_markdown(report: Report, max_findings: int = 8) -> str:
    s = report.symptom
    what = s.alertname or s.question or "investigation"
    lines = [f"## {what}", "", report.summary, ""]
    if s.labels:
        lines += ["**Alert labels:** " + ", ".join(f"`{k}={v}`" for k, v in sorted(s.labels.items())), ""]
    if report.hypotheses:
        lines += ["### Root cause", ""]
        for i, h in enumerate(report.hypotheses[:3], start=1):
            culprit = f" — culprit: {h.culprit.kind} `{h.culprit.name}`" if h.culprit else ""
            lines.append(f"{i}. **{h.title}** (confidence {h.confidence:.2f}){culprit}")
            lines += [f"   - {e}" for e in h.evidence[:3]]
            lines.append(f"   - _why:_ {h.explanation}")
        lines.append("")
    if report.actions:
        lines += ["### Recommended actions", ""]
        for a in report.actions[:5]:
            how = f"`{a.skill}` {a.params}" if a.skill else "manual"
            warn = " ⚠️ _echoes suspicious untrusted text: check before approving_" if a.untrusted else ""
            lines.append(f"- {a.title} — {how}, **{a.risk_class}**: {a.reason}{warn}")
        lines.append("")
    if report.suspicious:
        lines += ["### Suspicious lines (read like instructions to the agent)", ""]
        lines += [f"- {x.source}: `{x.line[:160]}` ({x.why})" for x in report.suspicious[:5]]
        lines.append("")
    if report.references:
        lines += ["### References", ""]
        lines += [f"- {r.title} (`{r.id}`{', ' + r.source if r.source else ''})" for r in report.references]
        lines.append("")
    if report.findings:
        lines += ["### Findings", ""]
        lines += [f"- [{f.severity}] {f.message}" for f in report.findings[:max_findings]]
        lines.append("")
    how = f"model {report.usage.model}" if report.mode == "llm" and report.usage else "deterministic triage"
    lines.append(
        f"_{len(report.calls)} skill calls in {report.duration_s:.1f}s · report {report.id} · "
        f"{how} (playbook {report.playbook}){' · partial' if report.partial else ''}_"
    )
    return redact_text("\n".join(lines))
