"""Rendering details: Slack's section limit, readable params, targets shown without tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.notify.receivers import receiver
from watchkeeper.config import NotifySettings
from watchkeeper.evidence.report import Finding, Report, Symptom
from watchkeeper.notify.deliver import Job, deliver
from watchkeeper.notify.render.clean import clean
from watchkeeper.notify.senders import shown


def test_slack_blocks_are_cut_at_line_boundaries_and_nothing_is_dropped(tmp_path: Path) -> None:
    findings = [
        Finding(kind="log_errors", severity="warn", message=f"finding {n} " + "disk write stalled & retried " * 16)
        for n in range(8)
    ]
    report = Report(id="inv-long", summary="Many findings.", symptom=Symptom(question="why?"), findings=findings,
                    started_at=datetime.now(UTC))  # fmt: skip
    with receiver() as r:
        d = deliver([Job(report, f"slack+{r.url}/services/T1/B1/X1")], NotifySettings(retries=1), tmp_path)[0]
    assert d.ok, d.error  # the receiver refuses a section over Slack's 3000 characters
    sections = [b["text"]["text"] for b in r.got[0].body["blocks"][1:]]
    assert len(sections) >= 2 and all(len(s) <= 3000 for s in sections)
    lines = [line for s in sections for line in s.split("\n")]
    for n in range(8):  # every finding arrives, each whole on one line
        assert (
            sum(line.startswith(f"• *WARN* finding {n} disk") and line.endswith("&amp; retried") for line in lines) == 1
        )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("slack+https://hooks.slack.com/services/T0/B0/XXXX", "slack+https://hooks.slack.com:443/…"),
        ("https://user:pw@hooks.example.com:8443/x?token=abc", "https://hooks.example.com:8443/…"),
        ("dingtalk+http://[::1]:8080/robot/send?access_token=t", "dingtalk+http://[::1]:8080/…"),
        ("http://127.0.0.1", "http://127.0.0.1:80"),
        ("tgram://123456789:AAHsecretbottoken/-100123", "tgram://…"),
        ("discord://webhook_id/webhook_token", "discord://…"),
        ("mailtos://user:pass@gmail.com", "mailtos://…"),
        ("https://host:notaport/x", "https://…"),
    ],
)
def test_targets_are_shown_with_their_port_and_no_token(url: str, expected: str) -> None:
    assert shown(url) == expected


def test_clean_makes_untrusted_text_inert() -> None:
    at = "\uff20"  # the full-width at sign: reads the same, pings nobody
    assert clean("@all @\u200bhere <@U1> mail ops@example.com") == f"{at}all {at}here <{at}U1> mail ops@example.com"
    assert clean("a\u202eb\u2066c\ufeffd\x1b[31me\nf") == "abcd[31me f"
    assert clean("x" * 600, limit=10) == "x" * 9 + "…"
    assert clean("password=hunter2") == "password=[REDACTED]"
