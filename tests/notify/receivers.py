"""Local receivers that check each chat platform's real wire format (signatures included)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

SECRET = "SEC0123456789abcdef"


@dataclass
class Received:
    path: str
    query: dict[str, str]
    body: Any
    raw: str


@dataclass
class Receiver:
    url: str
    got: list[Received] = field(default_factory=list)
    failures_left: dict[str, int] = field(default_factory=dict)


def dingtalk_answer(r: Received) -> tuple[int, Any]:
    q = r.query
    if q.get("access_token") != "tok123":
        return 200, {"errcode": 300001, "errmsg": "token is not exist"}
    if "sign" in q:
        ts = q["timestamp"]
        want = base64.b64encode(hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest())
        if q["sign"].encode() != want or abs(time.time() * 1000 - int(ts)) > 3600_000:
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
    body = r.body
    if body.get("msgtype") != "markdown" or not body["markdown"].get("title") or not body["markdown"].get("text"):
        return 200, {"errcode": 40035, "errmsg": "missing parameter"}
    return 200, {"errcode": 0, "errmsg": "ok"}


KEYWORD = "告警"


def dingtalk_keyword_answer(r: Received) -> tuple[int, Any]:
    """A robot with keyword security: a message without the keyword in it is refused."""
    status, answer = dingtalk_answer(r)
    if answer["errcode"] == 0 and KEYWORD not in r.body["markdown"]["title"] + r.body["markdown"]["text"]:
        return 200, {"errcode": 310000, "errmsg": "keywords not in content"}
    return status, answer


def wecom_answer(r: Received) -> tuple[int, Any]:
    """WeCom's group robot: key in the query; markdown content up to 4096 bytes, text up to 2048, mention
    lists of strings on text messages only."""
    if r.query.get("key") != "KEY123":
        return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
    body = r.body
    kind = body.get("msgtype")
    if kind == "markdown":
        content = body["markdown"].get("content", "")
        limit = 4096
        ok = set(body["markdown"]) == {"content"}
    elif kind == "text":
        content = body["text"].get("content", "")
        limit = 2048
        lists = [body["text"].get(k, []) for k in ("mentioned_list", "mentioned_mobile_list")]
        ok = all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in lists)
    else:
        return 200, {"errcode": 40008, "errmsg": "invalid message type"}
    if not content:
        return 200, {"errcode": 44004, "errmsg": "empty content"}
    if len(content.encode()) > limit or not ok:
        return 200, {"errcode": 40058, "errmsg": "invalid parameter"}
    return 200, {"errcode": 0, "errmsg": "ok"}


def feishu_answer(r: Received) -> tuple[int, Any]:
    body = r.body
    if "sign" in body or r.path.endswith("signed"):
        ts = body.get("timestamp", "0")
        key = f"{ts}\n{SECRET}".encode()
        want = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        if body.get("sign") != want or abs(time.time() - int(ts)) > 3600:
            return 200, {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
    kind = body.get("msg_type")
    if kind == "interactive":
        ok = body["card"]["elements"][0]["tag"] == "markdown" and body["card"]["header"]["title"]["content"]
    elif kind == "post":
        ok = bool(body["content"]["post"]["zh_cn"]["content"])
    else:
        ok = False
    return 200, ({"code": 0, "msg": "success", "data": {}} if ok else {"code": 9499, "msg": "Bad Request"})


def slack_answer(r: Received) -> tuple[int, Any]:
    ok = isinstance(r.body.get("text"), str) and r.body["blocks"][1]["text"]["type"] == "mrkdwn"
    header, *sections = r.body.get("blocks", [{}])
    # Slack's own limits: a header's text 150 characters, a section's 3000, 50 blocks.
    fits = len(header["text"]["text"]) <= 150 and all(len(b["text"]["text"]) <= 3000 for b in sections)
    if not fits or len(r.body["blocks"]) > 50:
        return 400, "invalid_blocks"
    return (200, "ok") if ok else (400, "invalid_payload")


ANSWERS = {
    # What a proxy in front of the platform may answer instead of it.
    "/robot/proxy-page": lambda r: (200, "<html><body>502 Bad Gateway</body></html>"),
    "/robot/null": lambda r: (200, "null"),
    "/robot/send": dingtalk_answer,
    "/robot/keyword": dingtalk_keyword_answer,
    "/cgi-bin/webhook/send": wecom_answer,
    "/open-apis/bot/v2/hook/abc": feishu_answer,
    "/open-apis/bot/v2/hook/signed": feishu_answer,
    "/services/T1/B1/X1": slack_answer,
}


@contextmanager
def receiver(port: int = 0) -> Iterator[Receiver]:
    """Every platform's webhook on one local server (on `port`, or any free one)."""
    state = Receiver("")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            url = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            got = Received(url.path, {k: v[0] for k, v in parse_qs(url.query).items()}, json.loads(raw), raw)
            state.got.append(got)
            if state.failures_left.get(url.path, 0) > 0:
                state.failures_left[url.path] -= 1
                self._send(503, "upstream busy")
                return
            status, answer = ANSWERS.get(url.path, lambda r: (200, {"received": True}))(got)
            self._send(status, answer if isinstance(answer, str) else json.dumps(answer))

        def _send(self, status: int, text: str) -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def smtp_receiver() -> Iterator[tuple[int, list[Any]]]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd): its port and the envelopes it received."""
    from aiosmtpd.controller import Controller

    got: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            got.append(envelope)
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, got
    finally:
        controller.stop()


@contextmanager
def hanging_target() -> Iterator[str]:
    """A webhook URL whose server accepts connections and never answers (a wedged proxy)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield f"http://127.0.0.1:{s.getsockname()[1]}/hook"


@contextmanager
def cut_answer() -> Iterator[str]:
    """A webhook URL whose server starts an answer and breaks off (a proxy that restarts mid-answer)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)

        def serve() -> None:
            while True:
                try:
                    conn, _ = s.accept()
                except OSError:  # closed: the test is over
                    return
                with conn, conn.makefile("rb") as request:
                    length = 0
                    while (line := request.readline()) not in (b"\r\n", b""):
                        name, _, value = line.decode().partition(":")
                        length = int(value) if name.lower() == "content-length" else length
                    request.read(length)  # the whole request: closing on unread bytes would be a reset instead
                    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"errc')

        threading.Thread(target=serve, daemon=True).start()
        yield f"http://127.0.0.1:{s.getsockname()[1]}/robot/send?access_token=tok123"
