"""Deliver a redacted report to chat and webhooks: transport and signing; what is sent comes from `render/`.

Targets are URLs. Our own senders, each with the platform's webhook URL (so Feishu vs Lark
domains, private deployments and proxies all work):

    dingtalk+https://oapi.dingtalk.com/robot/send?access_token=TOKEN&secret=SEC...   (signed, markdown)
        &at_mobiles=138...,139...&at_user_ids=u1&at_all=true                          (who is mentioned)
        &keyword=告警                                                                   (keyword security)
    wecom+https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY                    (markdown)
        &mentioned_list=userid1,@all&mentioned_mobile_list=138...                     (who is mentioned)
    feishu+https://open.feishu.cn/open-apis/bot/v2/hook/ID?secret=S&format=card|post (signed)
    lark+https://open.larksuite.com/open-apis/bot/v2/hook/ID?secret=S
    slack+https://hooks.slack.com/services/T/B/X                                      (blocks + text)
    https://any.host/path  (or webhook+https://...)                                   (the report as JSON)

Any other scheme (mailto://, tgram://, msteams://, ...) goes through apprise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from watchkeeper.errors import WatchkeeperError
from watchkeeper.evidence.report import Report
from watchkeeper.notify.render import dingtalk, feishu, slack, webhook, wecom
from watchkeeper.notify.render.email import html_body
from watchkeeper.notify.render.text import text, title

OWN_SCHEMES = ("dingtalk+", "feishu+", "lark+", "slack+", "wecom+", "webhook+")
# Read by us, never sent on (DingTalk's camelCase names are the older spelling of its options).
OUR_OPTIONS = (
    "secret",
    "format",
    "keyword",
    "at_mobiles",
    "at_user_ids",
    "at_all",
    "atMobiles",
    "atUserIds",
    "isAtAll",
    "mentioned_list",
    "mentioned_mobile_list",
)
EMAIL_SCHEMES = ("mailto", "mailtos")


class DeliveryError(WatchkeeperError):
    """A delivery failed; `retry` says whether trying again may help."""

    def __init__(self, message: str, retry: bool) -> None:
        self.retry = retry
        super().__init__(message)


def shown(url: str) -> str:
    """A target as it may appear in messages: scheme, host and port of a web URL; only the scheme of
    anything else, whose host part may be a token (`tgram://BOTTOKEN/CHATID`)."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        return "…"
    if scheme.rpartition("+")[2] not in ("http", "https"):
        return f"{scheme}://…"
    parts = urllib.parse.urlsplit(url.partition("+")[2] if "+" in scheme else url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port that is not a number
        return f"{scheme}://…"
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname or ""
    rest = "/…" if parts.path not in ("", "/") or parts.query else ""
    return f"{scheme}://{host}:{port}{rest}"


def _split(url: str) -> tuple[str, dict[str, str]]:
    """The real webhook URL (scheme prefix and our own options removed) and our options."""
    scheme, _, rest = url.partition("+")
    parts = urllib.parse.urlsplit(rest if scheme in {s.rstrip("+") for s in OWN_SCHEMES} else url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in OUR_OPTIONS}
    kept = urllib.parse.urlencode([(k, v) for k, v in query if k not in ours])
    return urllib.parse.urlunsplit(parts._replace(query=kept)), ours


def post_json(url: str, payload: dict[str, Any], timeout: float) -> tuple[int, str]:
    data = json.dumps(payload, ensure_ascii=False).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")[:300]
        retry = exc.code >= 500 or exc.code == 429
        raise DeliveryError(f"HTTP {exc.code}: {body}", retry=retry) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise DeliveryError(f"cannot reach {shown(url)}: {getattr(exc, 'reason', exc)}", retry=True) from None
    except http.client.HTTPException as exc:  # a cut answer (IncompleteRead), a status line that is none
        raise DeliveryError(f"{shown(url)} broke off its answer: {exc.__class__.__name__}", retry=True) from None


def _answer(text: str, platform: str) -> dict[str, Any]:
    """The platform's JSON answer; one that is not (a proxy's HTML page) is a failure not worth repeating:
    the message may have arrived, and a retry would send it twice."""
    try:
        answer = json.loads(text or "{}")
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        said = " ".join(text.split())[:120]
        raise DeliveryError(f"{platform} answered something that is not its JSON: {said!r}", retry=False)
    return answer


class Sender(Protocol):
    def send(self, report: Report, timeout: float) -> None: ...


@dataclass
class DingTalk:
    url: str

    def send(self, report: Report, timeout: float) -> None:
        webhook_url, opts = _split(self.url)
        if opts.get("secret"):
            # DingTalk's signing: HMAC-SHA256 over "timestamp\nsecret", base64, URL-encoded.
            ts = str(int(time.time() * 1000))
            digest = hmac.new(opts["secret"].encode(), f"{ts}\n{opts['secret']}".encode(), hashlib.sha256).digest()
            sign = urllib.parse.quote_plus(base64.b64encode(digest))
            webhook_url += f"{'&' if '?' in webhook_url else '?'}timestamp={ts}&sign={sign}"
        _, answer_text = post_json(webhook_url, dingtalk.payload(report, opts), timeout)
        answer = _answer(answer_text, "DingTalk")
        if answer.get("errcode", 0) != 0:
            # 130101: sending too fast; the rest (bad sign, keyword missing, ...) will not fix themselves.
            raise DeliveryError(
                f"DingTalk errcode {answer['errcode']}: {answer.get('errmsg')}", retry=answer["errcode"] == 130101
            )


@dataclass
class WeCom:
    url: str

    def send(self, report: Report, timeout: float) -> None:
        webhook_url, opts = _split(self.url)
        for body in (wecom.payload(report), wecom.mentions(report, opts)):
            if body is None:
                continue
            _, answer_text = post_json(webhook_url, body, timeout)
            answer = _answer(answer_text, "WeCom")
            if answer.get("errcode", 0) != 0:
                # 45009: more than 20 messages a minute; the rest (bad key, bad content) will not fix themselves.
                raise DeliveryError(
                    f"WeCom errcode {answer['errcode']}: {answer.get('errmsg')}", retry=answer["errcode"] == 45009
                )


@dataclass
class Feishu:
    url: str

    def send(self, report: Report, timeout: float) -> None:
        webhook_url, opts = _split(self.url)
        body = feishu.post(report) if opts.get("format", "card") == "post" else feishu.card(report)
        if opts.get("secret"):
            # Feishu/Lark signing: HMAC-SHA256 keyed with "timestamp\nsecret" over an empty message.
            ts = str(int(time.time()))
            key = f"{ts}\n{opts['secret']}".encode()
            body = {
                "timestamp": ts,
                "sign": base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode(),
                **body,
            }
        _, answer_text = post_json(webhook_url, body, timeout)
        answer = _answer(answer_text, "Feishu/Lark")
        code = answer.get("code", answer.get("StatusCode", 0))
        if code != 0:
            raise DeliveryError(
                f"Feishu/Lark code {code}: {answer.get('msg') or answer.get('StatusMessage')}", retry=code == 9499
            )


@dataclass
class Slack:
    url: str

    def send(self, report: Report, timeout: float) -> None:
        webhook_url, _ = _split(self.url)
        _, answer = post_json(webhook_url, slack.payload(report), timeout)
        if answer.strip() != "ok":
            raise DeliveryError(f"Slack answered: {answer.strip()[:200]}", retry=False)


@dataclass
class Webhook:
    url: str

    def send(self, report: Report, timeout: float) -> None:
        webhook_url, _ = _split(self.url)
        post_json(webhook_url, webhook.payload(report), timeout)


@dataclass
class Apprise:
    url: str

    def send(self, report: Report, timeout: float) -> None:
        import apprise

        plugin = apprise.Apprise.instantiate(self.url)
        if plugin is None:
            raise DeliveryError(f"apprise does not understand the target {shown(self.url)}", retry=False)
        # apprise's own timeouts, unless the URL sets them (cto=, rto=), are the delivery's.
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.url).query)
        if "cto" not in query:
            plugin.socket_connect_timeout = timeout
        if "rto" not in query:
            plugin.socket_read_timeout = timeout
        notifier = apprise.Apprise()
        notifier.add(plugin)
        if self.url.partition("://")[0] in EMAIL_SCHEMES:
            sent = notifier.notify(title=title(report), body=html_body(report), body_format=apprise.NotifyFormat.HTML)
        else:
            # Plain text: apprise escapes it for targets that take HTML or Markdown.
            sent = notifier.notify(title=title(report), body=text(report), body_format=apprise.NotifyFormat.TEXT)
        if not sent:
            raise DeliveryError(f"apprise could not deliver to {shown(self.url)}", retry=True)


def sender_for(url: str) -> Sender:
    if url.startswith("dingtalk+"):
        return DingTalk(url)
    if url.startswith("wecom+"):
        return WeCom(url)
    if url.startswith(("feishu+", "lark+")):
        return Feishu(url)
    if url.startswith("slack+"):
        return Slack(url)
    if url.startswith(("webhook+", "http://", "https://")):
        return Webhook(url)
    return Apprise(url)
