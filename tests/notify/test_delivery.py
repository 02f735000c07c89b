"""Each sender against a local receiver that checks its platform's wire format; retries; the outbox."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.notify.receivers import SECRET, cut_answer, hanging_target, receiver, smtp_receiver
from watchkeeper.config import NotifySettings
from watchkeeper.evidence.report import Action, Culprit, Finding, Hypothesis, Report, Symptom
from watchkeeper.notify import deliver as deliver_module
from watchkeeper.notify.deliver import Delivery, Job, deliver, jobs_for

CFG = NotifySettings(retries=3, backoff_s=0.01, timeout_s=5)


def report() -> Report:
    return Report(
        id="inv-test-1",
        summary="Most likely appserver has no free workers (confidence 0.85).",
        symptom=Symptom(alertname="HighHttp5xxRate", labels={"service": "webfront"}),
        hypotheses=[
            Hypothesis(
                category="dependency",
                title="upstream appserver has no free workers",
                confidence=0.85,
                culprit=Culprit(kind="service", name="appserver", port=9001),
                evidence=["worker pool exhausted (2/2 busy)"],
                audit_ids=[3, 4],
                explanation="its own log says so (+0.50)",
                actions=[
                    Action(
                        title="restart appserver",
                        skill="restart_service",
                        params={"unit": "appserver"},
                        risk_class="mutating",
                    )
                ],
            )
        ],
        findings=[
            Finding(
                kind="log_errors",
                severity="crit",
                message="db login failed: postgresql://app:hunter2@db/app password=hunter2",
            )
        ],
        started_at=datetime.now(UTC),
    )


def sent(delivery_target: str, outbox: Path) -> Delivery:
    return deliver([Job(report(), delivery_target)], CFG, outbox)[0]


def test_dingtalk_signed_markdown(tmp_path: Path) -> None:
    with receiver() as r:
        d = sent(f"dingtalk+{r.url}/robot/send?access_token=tok123&secret={SECRET}", tmp_path)
        wrong = sent(f"dingtalk+{r.url}/robot/send?access_token=tok123&secret=WRONG", tmp_path)
    assert d.ok and d.attempts == 1, d.error
    body = r.got[0].body
    assert body["msgtype"] == "markdown" and "appserver" in body["markdown"]["text"]
    assert {"timestamp", "sign", "access_token"} <= set(r.got[0].query)
    assert "secret" not in r.got[0].query, "our own option must not reach the platform"
    assert not wrong.ok and "310000" in (wrong.error or "") and wrong.attempts == 1
    assert "tok123" not in (wrong.error or "") and "tok123" not in wrong.target


@pytest.mark.parametrize("fmt", ["card", "post"])
def test_feishu_and_lark_signed(tmp_path: Path, fmt: str) -> None:
    with receiver() as r:
        d = sent(f"feishu+{r.url}/open-apis/bot/v2/hook/signed?secret={SECRET}&format={fmt}", tmp_path)
        lark = sent(f"lark+{r.url}/open-apis/bot/v2/hook/abc?format={fmt}", tmp_path)
        bad = sent(f"feishu+{r.url}/open-apis/bot/v2/hook/signed?secret=nope", tmp_path)
    assert d.ok and lark.ok, (d.error, lark.error)
    assert r.got[0].body["msg_type"] == ("interactive" if fmt == "card" else "post")
    assert r.got[0].body["sign"] and "sign" not in r.got[1].body
    assert not bad.ok and "19021" in (bad.error or "")


def test_slack_and_generic_webhook(tmp_path: Path) -> None:
    with receiver() as r:
        slack = sent(f"slack+{r.url}/services/T1/B1/X1", tmp_path)
        hook = sent(f"{r.url}/hooks/watchkeeper", tmp_path)
    assert slack.ok and hook.ok
    assert r.got[0].body["blocks"][0]["type"] == "header"
    payload = r.got[1].body
    assert payload["report"]["hypotheses"][0]["culprit"]["name"] == "appserver"
    assert payload["text"].startswith("Most likely appserver") and payload["title"] == "[watchkeeper] HighHttp5xxRate"


def test_secrets_never_leave(tmp_path: Path) -> None:
    with receiver() as r:
        for target in (
            f"dingtalk+{r.url}/robot/send?access_token=tok123",
            f"slack+{r.url}/services/T1/B1/X1",
            f"{r.url}/hooks/x",
            f"feishu+{r.url}/open-apis/bot/v2/hook/abc",
        ):
            assert sent(target, tmp_path).ok
    for got in r.got:
        assert "hunter2" not in got.raw


def test_retries_with_backoff_then_delivers(tmp_path: Path) -> None:
    with receiver() as r:
        r.failures_left["/hooks/flaky"] = 2
        d = sent(f"{r.url}/hooks/flaky", tmp_path)
    assert d.ok and d.attempts == 3 and len(r.got) == 3


def test_a_failed_delivery_is_reported_and_kept(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = sent(f"slack+http://127.0.0.1:{port}/services/T/B/secret-part", tmp_path / "outbox")
    assert not d.ok and d.attempts == 3 and "cannot reach" in (d.error or "")
    kept = json.loads(Path(d.kept_at or "").read_text())
    assert kept["report"]["id"] == "inv-test-1" and kept["error"] == d.error
    assert "secret-part" not in json.dumps(kept) and "hunter2" not in json.dumps(kept)


def test_email_through_apprise(tmp_path: Path) -> None:
    with smtp_receiver() as (port, got):
        d = sent(
            f"mailto://example.com:{port}?smtp=127.0.0.1&from=wk@example.com&to=oncall@example.com&mode=insecure",
            tmp_path,
        )
    assert d.ok, d.error
    message = got[0].content.decode(errors="replace")
    assert got[0].rcpt_tos == ["oncall@example.com"] and "Subject: [watchkeeper] HighHttp5xxRate" in message
    assert "hunter2" not in message


@pytest.mark.parametrize("path", ["/robot/proxy-page", "/robot/null"])
def test_an_answer_that_is_not_the_platforms_json_is_one_failure_not_a_crash(tmp_path: Path, path: str) -> None:
    with receiver() as r:
        d = sent(f"dingtalk+{r.url}{path}?access_token=tok123", tmp_path)
    # Not repeated at once: the message may have arrived behind the proxy.
    assert not d.ok and d.attempts == 1 and len(r.got) == 1
    assert "DingTalk answered something that is not its JSON" in (d.error or ""), d.error


def test_an_answer_cut_short_is_a_failure_tried_again(tmp_path: Path) -> None:
    with cut_answer() as url:
        d = sent(f"dingtalk+{url}", tmp_path)
    assert not d.ok and d.attempts == CFG.retries and "broke off its answer: IncompleteRead" in (d.error or ""), d


def test_a_sender_that_raises_fails_its_own_target_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:  # as an apprise plugin with a bug of its own would
        def send(self, report: Report, timeout: float) -> None:
            raise KeyError("password=hunter2")

    monkeypatch.setattr(deliver_module, "sender_for", lambda url: Broken())
    d = sent("tgram://bot/chat", tmp_path)
    assert not d.ok and d.attempts == 1, d
    assert (d.error or "").startswith("KeyError: ") and "hunter2" not in (d.error or ""), d.error


def test_unknown_scheme_is_a_clear_failure(tmp_path: Path) -> None:
    d = sent("nosuchservice://whatever", tmp_path)
    assert not d.ok and "apprise does not understand the target" in (d.error or "") and d.attempts == 1


def test_hanging_targets_fail_together_not_one_after_another(tmp_path: Path) -> None:
    cfg = NotifySettings(retries=2, backoff_s=0.2, timeout_s=1)
    # One target that never answers costs every attempt's timeout plus the delays between them.
    one_target = cfg.retries * cfg.timeout_s + sum(cfg.backoff_s * 2**n for n in range(cfg.retries - 1))
    with contextlib.ExitStack() as stack:
        targets = [stack.enter_context(hanging_target()) for _ in range(5)]
        t0 = time.monotonic()
        results = deliver(jobs_for([report()], targets), cfg, tmp_path / "outbox")
        elapsed = time.monotonic() - t0
    assert [d.ok for d in results] == [False] * 5 and all(d.attempts == 2 for d in results)
    assert all("timed out" in (d.error or "") for d in results), [d.error for d in results]
    assert len(list((tmp_path / "outbox").glob("*.json"))) == 5
    # In sequence this takes 5 times one_target (11 s); together, one target's time and some scheduling slack.
    assert one_target <= elapsed < one_target + 2.0, elapsed


def test_wecom_markdown_then_the_configured_mentions(tmp_path: Path) -> None:
    with receiver() as r:
        target = (
            f"wecom+{r.url}/cgi-bin/webhook/send?key=KEY123&mentioned_list=alice,@all&mentioned_mobile_list=13800000000"
        )
        d = sent(target, tmp_path)
        plain = sent(f"wecom+{r.url}/cgi-bin/webhook/send?key=KEY123", tmp_path)
        bad = sent(f"wecom+{r.url}/cgi-bin/webhook/send?key=WRONG", tmp_path)
    assert d.ok and plain.ok, (d.error, plain.error)
    first, second, third = (g.body for g in r.got[:3])
    assert first["msgtype"] == "markdown" and "appserver" in first["markdown"]["content"]
    assert second == {
        "msgtype": "text",
        "text": {
            "content": "[watchkeeper] HighHttp5xxRate",
            "mentioned_list": ["alice", "@all"],
            "mentioned_mobile_list": ["13800000000"],
        },
    }
    assert third["msgtype"] == "markdown"  # no mentions configured: one message
    assert all(set(g.query) == {"key"} for g in r.got), "our own options must not reach the platform"
    assert not bad.ok and "93000" in (bad.error or "") and bad.attempts == 1 and "KEY123" not in bad.target


def test_wecom_retries_when_rate_limited(tmp_path: Path) -> None:
    from tests.notify import receivers

    calls: list[int] = []

    def limited(got: receivers.Received) -> tuple[int, object]:
        calls.append(1)
        if len(calls) == 1:
            return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
        return receivers.wecom_answer(got)

    with receiver() as r, pytest.MonkeyPatch.context() as mp:
        mp.setitem(receivers.ANSWERS, "/cgi-bin/webhook/send", limited)
        d = sent(f"wecom+{r.url}/cgi-bin/webhook/send?key=KEY123", tmp_path)
    assert d.ok and d.attempts == 2


def test_dingtalk_keyword_and_mentions_come_from_the_target(tmp_path: Path) -> None:
    with receiver() as r:
        base = f"dingtalk+{r.url}/robot/keyword?access_token=tok123"
        missing = sent(base, tmp_path)
        d = sent(f"{base}&keyword=告警&at_mobiles=13800000000,13900000000&at_all=false", tmp_path)
    assert not missing.ok and "310000" in (missing.error or "")
    assert d.ok, d.error
    body = r.got[-1].body
    assert body["markdown"]["title"].startswith("告警 ") and body["markdown"]["text"].startswith("告警\n")
    assert body["at"] == {"atMobiles": ["13800000000", "13900000000"], "atUserIds": [], "isAtAll": False}
    assert set(r.got[-1].query) == {"access_token"}


def test_wecom_content_is_cut_under_its_4096_bytes_on_a_character() -> None:
    from watchkeeper.notify.render.wecom import MARKDOWN_BYTES, fit

    text = "磁盘写满 日志一直在涨 " * 400  # 3 bytes a Chinese character in UTF-8: far over the limit
    cut = fit(text, MARKDOWN_BYTES)
    assert len(cut.encode()) <= MARKDOWN_BYTES and cut.endswith("…") and text.startswith(cut[:-1])
    assert fit("short", MARKDOWN_BYTES) == "short"
