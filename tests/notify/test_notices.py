"""Incident messages: each kind as a Report in English and Chinese, folded overflow, and hostile incident text
through the real chat renderers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from tests.notify.test_hostile_text import inert_everywhere
from watchkeeper.evidence.report import Hypothesis, Report, Symptom
from watchkeeper.notify.notices import Notice, as_report
from watchkeeper.notify.render import dingtalk, feishu, slack
from watchkeeper.notify.render.document import walk

OPENED = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TARGETS = [f"service:api-{n}" for n in range(8)] + ["service:orders-db"]
DIAGNOSIS = Report(
    id="inv-3",
    summary="orders-db refuses connections: its disk is full",
    symptom=Symptom(alertname="OrdersDbDown", labels={"service": "orders-db"}),
    hypotheses=[Hypothesis(category="disk", title="/var/lib/postgresql is full", confidence=0.9)],
    notes=["a note of the investigation"],
    started_at=OPENED,
)
CHANGES: dict[str, dict[str, Any]] = {
    "diagnosed": {"report": DIAGNOSIS},
    "update": {"change": "reopened"},
    "resolved": {"resolved_at": OPENED + timedelta(minutes=14), "fixed_by": "resolved by alice: restarted orders-db"},
}


def notice(kind: str = "update", **changes: Any) -> Notice:
    fields: dict[str, Any] = {
        "kind": kind,
        "incident_id": 7,
        "title": "orders-db is down",
        "severity": "critical",
        "status": "diagnosed",
        "opened_at": OPENED,
        "alert_count": 42,
        "targets": TARGETS,
        "url": "http://127.0.0.1:8700/api/v1/incidents/7",
        **CHANGES[kind],
    }
    return Notice(**(fields | changes))


HEADING = "[critical] incident #7: orders-db is down — 42 alerts on 9 targets"


def test_a_diagnosed_incident_is_its_investigation_report_headed_by_the_incident() -> None:
    report = as_report([notice("diagnosed")], "en")
    assert report.id == "incident-7-diagnosed" and report.language == "en"
    assert report.summary.splitlines() == [
        HEADING,
        "orders-db refuses connections: its disk is full",
        "Details: http://127.0.0.1:8700/api/v1/incidents/7",
    ]
    assert report.hypotheses == DIAGNOSIS.hypotheses and report.symptom == DIAGNOSIS.symptom
    assert report.notes == ["a note of the investigation"]
    assert DIAGNOSIS.summary == "orders-db refuses connections: its disk is full", "the diagnosis itself is unchanged"


def test_a_diagnosis_of_many_lines_is_one_paragraph_and_forges_no_line_of_ours() -> None:
    forged = DIAGNOSIS.model_copy(update={"summary": "disk full\nDetails: https://evil.example/login\n\nStatus: ok"})
    report = as_report([notice("diagnosed", report=forged)], "en")
    assert report.summary.splitlines() == [
        HEADING,
        "disk full Details: https://evil.example/login Status: ok",
        "Details: http://127.0.0.1:8700/api/v1/incidents/7",
    ]


def test_an_update_names_the_incident_the_change_and_where_it_stands() -> None:
    report = as_report([notice("update", change="acknowledged by bob")], "en")
    assert report.id == "incident-7-update"
    assert report.summary.splitlines() == [
        HEADING,
        "Update: acknowledged by bob",
        "Status: diagnosed",
        "Targets: service:api-0, service:api-1, service:api-2, service:api-3, service:api-4 and 4 more",
        "Details: http://127.0.0.1:8700/api/v1/incidents/7",
    ]
    assert report.symptom.question == "incident #7: orders-db is down" and not report.hypotheses


def test_a_resolved_incident_says_how_long_it_lasted_and_what_fixed_it() -> None:
    report = as_report([notice("resolved")], "en")
    assert report.id == "incident-7-resolved"
    lines = report.summary.splitlines()
    assert lines[:2] == [HEADING, "Resolved after 14 min: resolved by alice: restarted orders-db"]
    assert not any(line.startswith("Status:") for line in lines), "resolved says so once"
    hours = as_report([notice("resolved", resolved_at=OPENED + timedelta(hours=3), fixed_by=None)], "en")
    assert hours.summary.splitlines()[1] == "Resolved after 3.0 h."


def test_one_alert_on_one_target_reads_in_the_singular() -> None:
    report = as_report([notice(alert_count=1, targets=["host:db-1"], severity="warning")], "en")
    assert report.summary.splitlines()[0] == "[warning] incident #7: orders-db is down — 1 alert on 1 target"


def test_a_diagnosed_notice_without_a_report_still_makes_a_message() -> None:
    report = as_report([notice("diagnosed", report=None)], "en")
    assert report.summary.splitlines()[:2] == [HEADING, "Diagnosed, but the investigation left no report."]


# Every English word our sentences use: none may remain in a Chinese message.
ENGLISH = re.compile(
    r"\b(incident|alerts?|targets?|on|Update|Status|Targets|Details|Resolved|after|also|more|messages?|"
    r"critical|warning|diagnosed|resolved|open|closed|min)\b",
    re.I,
)


# The incident's own words in Chinese too (the caller's): any English left is ours.
ZH_CHANGES: dict[str, dict[str, Any]] = {
    "diagnosed": {"report": DIAGNOSIS.model_copy(update={"summary": "磁盘已满", "notes": []})},
    "update": {"change": "重新打开"},
    "resolved": {"fixed_by": "全部告警已恢复"},
}


@pytest.mark.parametrize("kind", ["diagnosed", "update", "resolved"])
def test_each_kind_reads_in_chinese(kind: str) -> None:
    first = notice(kind, title="订单库宕机", url=None, targets=["订单库"], **ZH_CHANGES[kind])
    folded = [
        notice("resolved", incident_id=12, title="磁盘将满", fixed_by=None),
        notice("update", incident_id=13, title="证书过期", change="新症状"),
        notice("update", incident_id=14, title="证书过期", change=None),
        *[notice("update", incident_id=20 + n, title="证书过期") for n in range(3)],
    ]
    report = as_report([first, *folded], "zh-CN")
    assert report.language == "zh-CN"
    said = "\n".join([report.summary, *report.notes, report.symptom.question or ""])
    assert re.search("[\u4e00-\u9fff]", said)
    assert not ENGLISH.search(said), f"an English word in a Chinese message: {ENGLISH.search(said)}"
    assert report.summary.startswith("[严重] 事件 #7：订单库宕机 — 42 条告警，涉及 1 个对象")  # noqa: RUF001 (Chinese)
    assert report.notes[0] == "另：事件 #12 持续 14 分钟后已解决：磁盘将满"  # noqa: RUF001 (Chinese)
    assert report.notes[-1] == "另有 2 条事件消息"


def test_three_notices_fold_into_one_report_with_two_also_lines() -> None:
    resolved = notice("resolved", incident_id=12, title="disk full on db-2", fixed_by="every alert resolved")
    update = notice("update", incident_id=13, title="certificate expires", change="acknowledged by bob")
    report = as_report([notice("diagnosed"), resolved, update], "en")
    assert report.id == "incident-7-diagnosed" and report.summary.startswith(HEADING)
    assert report.notes == [
        "also: incident #12 resolved after 14 min: disk full on db-2",
        "also: incident #13 (certificate expires): acknowledged by bob",
        "a note of the investigation",
    ]


def test_a_long_overflow_is_counted_so_the_renderers_five_notes_show_it_all() -> None:
    folded = [notice("update", incident_id=10 + n, change=None, status="investigating") for n in range(6)]
    report = as_report([notice("update"), *folded], "en")
    assert report.notes[:4] == [f"also: incident #{10 + n} is investigating: orders-db is down" for n in range(4)]
    assert report.notes[4:] == ["also: 2 more incident messages"]
    shown = next(s for s in walk(report).sections if s.heading == "Notes")
    assert len(shown.items) == 5


def test_bad_notices_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"^notices: as_report needs at least one notice$"):
        as_report([], "en")
    with pytest.raises(ValidationError, match="resolved_at: a resolved notice says how long"):
        notice("resolved", resolved_at=None)


HOSTILE = '**[click](http://evil.example)** <at user_id="all"></at> @all ![x](http://evil.example/x.png)'


def hostile_notices(kind: str) -> list[Notice]:
    diagnosis = DIAGNOSIS.model_copy(update={"summary": HOSTILE, "symptom": Symptom(alertname=HOSTILE)})
    first = notice(
        kind,
        title=HOSTILE,
        targets=[f"service:{HOSTILE}"],
        **({"report": diagnosis} if kind == "diagnosed" else {"change": HOSTILE, "fixed_by": HOSTILE}),
    )
    return [first, notice("update", incident_id=8, title=HOSTILE, change=HOSTILE)]


@pytest.mark.parametrize("kind", ["diagnosed", "update", "resolved"])
def test_hostile_incident_text_is_no_markup_in_dingtalk(kind: str) -> None:
    body = dingtalk.payload(as_report(hostile_notices(kind), "en"), {})["markdown"]
    inert_everywhere(body["text"] + body["title"])
    assert not re.search(r"(?<!\\)[`<>\[\]]", body["text"]), "an unescaped backtick, tag, link or image bracket"
    assert "\\*\\*\\[click\\]" in body["text"], "the asterisks are shown, not bold"
    assert "click" in body["title"] and "evil.example" in body["text"]


@pytest.mark.parametrize("kind", ["diagnosed", "update", "resolved"])
def test_hostile_incident_text_is_no_markup_in_a_feishu_card(kind: str) -> None:
    card = feishu.card(as_report(hostile_notices(kind), "en"))["card"]
    content = card["elements"][0]["content"]
    inert_everywhere(content + card["header"]["title"]["content"])
    assert not re.search(r"[<>\[\]`]", content), "a raw tag (<at>, <a>), link bracket or backtick"
    assert "&#42;&#42;&#91;click&#93;" in content, "the asterisks are shown, not bold"


@pytest.mark.parametrize("kind", ["diagnosed", "update", "resolved"])
def test_hostile_incident_text_is_no_markup_in_slack(kind: str) -> None:
    body = slack.payload(as_report(hostile_notices(kind), "en"))
    header, *sections = body["blocks"]
    for text in [body["text"]] + [b["text"]["text"] for b in sections]:
        assert not re.search("[<>]", text), "a raw < or > is a Slack link or mention"
        inert_everywhere(text)
    assert all(b["text"]["verbatim"] is True for b in sections), "Slack would auto-link and parse mentions"
    assert "&lt;at user_id=" in sections[0]["text"]["text"]
    inert_everywhere(header["text"]["text"])


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_message_built_here_is_not_footed_as_an_investigation(language: str) -> None:
    """No '0 skill calls in 0.0s · deterministic triage' under a resolved or an update message."""
    for kind in ("resolved", "update"):
        footer = "".join(span.text for span in walk(as_report([notice(kind)], language)).footer)
        assert footer == {"en": "message ", "zh-CN": "消息 "}[language] + f"incident-7-{kind}"
    investigated = DIAGNOSIS.model_copy(update={"duration_s": 4.2, "playbook": "service_down"})
    diagnosed = "".join(span.text for span in walk(as_report([notice("diagnosed", report=investigated)], "en")).footer)
    assert diagnosed.startswith("0 skill calls in 4.2s · report incident-7-diagnosed")  # the investigation's own
