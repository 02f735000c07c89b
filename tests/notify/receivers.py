"""Local receivers that check each chat platform's real wire format (signatures included)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
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
    return (200, "ok") if ok else (400, "invalid_payload")


ANSWERS = {
    "/robot/send": dingtalk_answer,
    "/open-apis/bot/v2/hook/abc": feishu_answer,
    "/open-apis/bot/v2/hook/signed": feishu_answer,
    "/services/T1/B1/X1": slack_answer,
}


@contextmanager
def receiver() -> Iterator[Receiver]:
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

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
