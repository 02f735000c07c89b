"""Hostile log lines through every sender: each payload keeps the words and nothing of them is live.

The report comes from a real triage of a real log file holding the lines (so drain's masks,
`<TIME>` `<NUM>` `<URL>`, are in it too), with the same lines added to every other untrusted field
a report has. Each sender delivers it over real HTTP (SMTP for e-mail) to a receiver that speaks the
platform's wire format, and the test reads what arrived as that platform would.
"""

from __future__ import annotations

import email
import html
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tests.notify.receivers import SECRET, Received, receiver, smtp_receiver
from watchkeeper.app import open_app
from watchkeeper.cli.render import print_report
from watchkeeper.config import NotifySettings, Settings
from watchkeeper.evidence.report import Action, Culprit, Hypothesis, Reference, Report, RuledOut, Suspicious
from watchkeeper.evidence.symptoms import from_alert_payload
from watchkeeper.evidence.triage import investigate
from watchkeeper.notify.deliver import Job, deliver
from watchkeeper.notify.render.markdown import to_markdown
from watchkeeper.redact import redact
from watchkeeper.scenarios.world import alert_payload

CFG = NotifySettings(retries=1, backoff_s=0.01, timeout_s=10)

HOSTILE = [
    "ERROR refund worker crashed <!channel> call <@U024BE7LH> <!here> see <https://evil.example|click>",
    'ERROR payout batch stuck @all @\u200ball @所有人 @13800138000 <at user_id="all"></at> [click](https://evil.example)',
    "ERROR invoice render broke <script>alert(1)</script> <img src=x onerror=alert(1)> "
    "zero\u200bwidth \u202eexe.txt\u202c",
]
WORDS = ["refund worker crashed", "payout batch stuck", "invoice render broke", "所有人", "zerowidth", "exe.txt"]
INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
MENTION = re.compile(r"(?<!\w)@\w")  # an "@" that could ping someone (the full-width one cannot)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    base = tmp_path_factory.mktemp("hostile")
    logs = base / "logs"
    logs.mkdir()
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    (logs / "refund.log").write_text("".join(f"{now} {line}\n" for line in HOSTILE * 5))
    with pytest.MonkeyPatch.context() as mp:
        (base / "empty.toml").write_text("")
        mp.setenv("WK_CONFIG", str(base / "empty.toml"))
        rt = open_app(Settings(data_dir=base / "data", policy={"read_allowlist": [str(logs)]}))
        alert = alert_payload(
            {"alertname": "RefundErrors <!channel>", "service": "refund", "team": "<!subteam^S1> @here"}
        )
        report = investigate(rt.settings, rt.invoker, from_alert_payload(alert)[0])
    assert len(report.findings) >= 3 and any("<NUM>" in f.message for f in report.findings)
    line = " ".join(HOSTILE)
    # Every other untrusted field a report has, as a model or a log could fill it.
    report.summary = f"{HOSTILE[0]}\n# {HOSTILE[1]}\n> {HOSTILE[2]}"
    report.hypotheses = [
        Hypothesis(
            category="application",
            title=HOSTILE[0],
            confidence=0.9,
            culprit=Culprit(kind="service", name="refund`<!channel>`"),
            evidence=HOSTILE,
            explanation=HOSTILE[1],
        )
    ]
    report.actions = [
        Action(
            title=HOSTILE[1],
            skill="restart_service",
            params={"unit": HOSTILE[0], "pids": [1, 2]},
            risk_class="mutating",
            reason=HOSTILE[2],
            untrusted=HOSTILE[0],
        ),
        Action(title=HOSTILE[2], reason=HOSTILE[0]),
    ]
    report.suspicious = [Suspicious(source="tool:tail_file <@U1>", line=line, why=HOSTILE[1])]
    report.references = [Reference(id="rb-<!here>", title=HOSTILE[0], source=HOSTILE[2])]
    report.notes = [line]
    report.checked = [f"refund log app.log: {HOSTILE[0]}", HOSTILE[1]]
    report.ruled_out = [
        RuledOut(entity=Culprit(kind="service", name="pg <!here>"), facts=[HOSTILE[2]], reason=HOSTILE[1])
    ]
    yield report


def words_survive(text: str) -> None:
    shown = html.unescape(text)
    for word in WORDS:
        assert word in shown, f"{word!r} lost"


def inert_everywhere(text: str) -> None:
    assert not INVISIBLE.search(text), "zero-width or bidi characters reached the message"
    assert not MENTION.search(text), f"a live mention: {MENTION.search(text)}"


def send(report: Report, target: str, tmp_path: Path) -> None:
    d = deliver([Job(report, target)], CFG, tmp_path / "outbox")[0]
    assert d.ok, d.error


def test_slack(hostile: Report, tmp_path: Path) -> None:
    with receiver() as r:
        send(hostile, f"slack+{r.url}/services/T1/B1/X1", tmp_path)
    body = r.got[0].body
    header, *sections = body["blocks"]
    mrkdwn = [body["text"]] + [b["text"]["text"] for b in sections]
    for text in mrkdwn:
        assert not re.search("[<>]", text), "a raw < or > is a Slack link or mention"
        assert not re.search("&(?!amp;|lt;|gt;)", text)
        inert_everywhere(text)
        assert "**" not in text and "##" not in text, "GitHub Markdown shows literally in Slack"
    assert all(b["text"]["verbatim"] is True for b in sections), "Slack would auto-link and parse mentions"
    words_survive("\n".join(mrkdwn))
    assert "&lt;NUM&gt;" in "".join(mrkdwn) and "&lt;!channel&gt;" in "".join(mrkdwn)
    # The header is plain_text, which Slack shows literally: cleaned, not escaped.
    assert header["text"]["type"] == "plain_text"
    inert_everywhere(header["text"]["text"])


def test_dingtalk(hostile: Report, tmp_path: Path) -> None:
    with receiver() as r:
        send(
            hostile, f"dingtalk+{r.url}/robot/send?access_token=tok123&secret={SECRET}&atMobiles=13900000000", tmp_path
        )
    got: Received = r.got[0]
    text, title = got.body["markdown"]["text"], got.body["markdown"]["title"]
    assert got.body["at"] == {"atMobiles": ["13900000000"], "atUserIds": [], "isAtAll": False}
    assert "atMobiles" not in got.query, "our own option must not reach the platform"
    body, _, ours = text.rpartition("\n\n")
    assert ours == "@13900000000", "the only mention is the configured one"
    inert_everywhere(body)
    inert_everywhere(title)
    assert not re.search(r"(?<!\\)[`<>\[\]]", body), "an unescaped backtick, tag or link bracket"
    headings = [line for line in body.splitlines() if line.startswith("#")]
    assert headings and not any("ERROR" in h for h in headings), "log text opened a heading"
    assert not re.search(r"^\s*>", body, re.M), "log text opened a quote"
    assert re.search(r"^\\# ERROR payout", body, re.M) and re.search(r"^\\> ERROR invoice", body, re.M)
    words_survive(text)


def test_wecom(hostile: Report, tmp_path: Path) -> None:
    with receiver() as r:
        send(hostile, f"wecom+{r.url}/cgi-bin/webhook/send?key=KEY123&mentioned_list=oncall", tmp_path)
    markdown, mention = r.got[0].body, r.got[1].body
    content = markdown["markdown"]["content"]
    inert_everywhere(content)
    assert not re.search(r"(?<!\\)[<>\[\]`]", content), "an unescaped <font>/<@id> tag, link bracket or backtick"
    body = content.split("\n", 1)[1]  # after our own title heading
    headings = [line for line in body.splitlines() if line.startswith("#")]
    assert not any("ERROR" in h for h in headings), "log text opened a heading"
    assert not re.search(r"^\s*>", body, re.M), "log text opened a quote"
    assert mention["text"]["mentioned_list"] == ["oncall"], "the only mention is the configured one"
    inert_everywhere(mention["text"]["content"])
    words_survive(content)


@pytest.mark.parametrize("fmt", ["card", "post"])
def test_feishu(hostile: Report, tmp_path: Path, fmt: str) -> None:
    with receiver() as r:
        send(hostile, f"feishu+{r.url}/open-apis/bot/v2/hook/signed?secret={SECRET}&format={fmt}", tmp_path)
    body = r.got[0].body
    if fmt == "card":
        card = body["card"]
        inert_everywhere(card["header"]["title"]["content"])
        content = card["elements"][0]["content"]
        assert not re.search(r"[<>\[\]`]", content), "a raw tag (<at>, <a>, <font>), link bracket or backtick"
        assert not re.search(r"&(?!#\d+;)", content), "only Feishu's numeric entities may start with &"
        inert_everywhere(content)
        words_survive(content)
    else:
        post = body["content"]["post"]["zh_cn"]
        elements = [e for paragraph in post["content"] for e in paragraph]
        assert {e["tag"] for e in elements} == {"text"} and not any("un_escape" in e for e in elements)
        inert_everywhere(post["title"] + "".join(e["text"] for e in elements))
        words_survive("\n".join(e["text"] for e in elements))


def test_generic_webhook(hostile: Report, tmp_path: Path) -> None:
    with receiver() as r:
        send(hostile, f"{r.url}/hooks/watchkeeper", tmp_path)
    payload = r.got[0].body
    # Raw values: JSON encoding is their escaping; redacted all the same.
    assert payload["report"] == json.loads(json.dumps(redact(hostile.model_dump(mode="json"))))
    assert any("<!channel>" in f["message"] for f in payload["report"]["findings"])  # raw, in JSON
    inert_everywhere(payload["text"] + payload["title"])
    assert "**" not in payload["text"] and "Root cause:" in payload["text"], "plain text, none of our Markdown"
    words_survive(payload["text"])


def test_other_apprise_targets_get_plain_text(hostile: Report, tmp_path: Path) -> None:
    with receiver() as r:
        send(hostile, f"json://{r.url.removeprefix('http://')}/apprise", tmp_path)
    message = r.got[0].body["message"]
    inert_everywhere(message)
    assert "**" not in message and "<b>" not in message
    words_survive(message)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_email_html_and_plain_parts(hostile: Report, tmp_path: Path) -> None:
    with smtp_receiver() as (port, got):
        send(
            hostile,
            f"mailto://example.com:{port}?smtp=127.0.0.1&from=wk@example.com&to=oncall@example.com&mode=insecure",
            tmp_path,
        )
    message = email.message_from_bytes(got[0].content)
    parts: dict[str, Any] = {p.get_content_type(): p for p in message.walk() if not p.is_multipart()}
    assert message.get_content_type() == "multipart/alternative" and set(parts) == {"text/plain", "text/html"}
    inert_everywhere(str(message["Subject"]))
    page = _decoded(parts["text/html"])
    tags = Tags()
    tags.feed(page)
    allowed = {"html", "body", "h2", "h3", "p", "ul", "ol", "li", "b", "i", "samp", "small"}
    assert {t for t, _ in tags.tags} <= allowed, "a tag from log text is live"
    assert all(not attrs for _, attrs in tags.tags), "an attribute (onerror=) from log text is live"
    seen = "".join(tags.text)
    assert "<script>alert(1)</script>" in seen and "<img src=x onerror=alert(1)>" in seen  # shown, as text
    inert_everywhere(seen)
    words_survive(seen)
    plain = _decoded(parts["text/plain"])
    inert_everywhere(plain)
    words_survive(plain)


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "utf-8")


def test_markdown_output(hostile: Report) -> None:
    text = to_markdown(hostile)
    inert_everywhere(text)
    outside_code = re.sub(r"(`+).+?\1", "", text)  # a code span shows its content literally
    assert not re.search(r"(?<!\\)[<>\[\]]", outside_code), "an unescaped tag or link bracket"
    assert "{'" not in text and "manual, **manual**" not in text
    assert "`unit='ERROR refund worker crashed" in text and "pids=1,2" in text  # quoted as -p takes it
    assert "manual step" in text
    words_survive(text)


def test_the_terminal_obeys_no_control_code_of_the_report(hostile: Report) -> None:
    """wk investigate prints log-derived text: a title escape, a screen clear or a C1 CSI in it is shown
    escaped, never sent to the terminal (a log line must not be able to repaint the actions table)."""
    evil = "disk ok\x1b]0;owned\x07 \x1b[2J\x9b31m [bold]FAKE ACTION: approve[/bold]"
    report = hostile.model_copy(
        update={
            "summary": evil,
            "checked": [evil],
            "ruled_out": [RuledOut(entity=Culprit(kind="path", name=evil), facts=[evil], reason=evil)],
            "notes": [evil],
        }
    )
    console = Console(file=io.StringIO(), record=True, width=300, color_system=None)
    print_report(console, report)
    shown = console.export_text()
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown
    assert shown.count("\\x1b]0;owned\\x07") >= 4  # each field kept its words, escaped
    assert "[bold]FAKE ACTION: approve[/bold]" in shown  # markup shown as text, not obeyed
