"""Rendering details: Slack's section limit and what cleaning does to untrusted text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.notify.receivers import receiver
from watchkeeper.config import NotifySettings
from watchkeeper.evidence.report import Finding, Report, Symptom
from watchkeeper.notify.deliver import deliver
from watchkeeper.notify.render.clean import clean


def test_slack_blocks_are_cut_at_line_boundaries_and_nothing_is_dropped(tmp_path: Path) -> None:
    findings = [
        Finding(kind="log_errors", severity="warn", message=f"finding {n} " + "disk write stalled & retried " * 16)
        for n in range(8)
    ]
    report = Report(id="inv-long", summary="Many findings.", symptom=Symptom(question="why?"), findings=findings,
                    started_at=datetime.now(UTC))  # fmt: skip
    with receiver() as r:
        d = deliver(report, [f"slack+{r.url}/services/T1/B1/X1"], NotifySettings(retries=1), tmp_path)[0]
    assert d.ok, d.error  # the receiver refuses a section over Slack's 3000 characters
    sections = [b["text"]["text"] for b in r.got[0].body["blocks"][1:]]
    assert len(sections) >= 2 and all(len(s) <= 3000 for s in sections)
    lines = [line for s in sections for line in s.split("\n")]
    for n in range(8):  # every finding arrives, each whole on one line
        assert (
            sum(line.startswith(f"• *WARN* finding {n} disk") and line.endswith("&amp; retried") for line in lines) == 1
        )


def test_clean_makes_untrusted_text_inert() -> None:
    at = "\uff20"  # the full-width at sign: reads the same, pings nobody
    assert clean("@all @\u200bhere <@U1> mail ops@example.com") == f"{at}all {at}here <{at}U1> mail ops@example.com"
    assert clean("a\u202eb\u2066c\ufeffd\x1b[31me\nf") == "abcd[31me f"
    assert clean("x" * 600, limit=10) == "x" * 9 + "…"
    assert clean("password=hunter2") == "password=[REDACTED]"
