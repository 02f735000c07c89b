"""A local OpenAI-compatible server that replays scripted chat completions in the real wire format:
`tool_calls` with JSON-string arguments, `usage`, and SSE chunks when the client streams. It keeps
every request body it received, so tests can check exactly what left the process."""

from __future__ import annotations

import contextlib
import http.server
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.helpers import serve


@dataclass
class Reply:
    content: str | None = None
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    status: int = 200
    raw: bytes | None = None  # a body sent as is (garbage, errors)
    prompt_tokens: int = 120
    completion_tokens: int = 30
    delay_s: float = 0.0  # a slow model: the answer comes after this long


@dataclass
class FakeOpenAI:
    replies: list[Reply]
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    raw_requests: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    repeat_last: bool = False

    def next_reply(self) -> Reply:
        index = len(self.requests) - 1
        if index >= len(self.replies):
            if not self.repeat_last:
                return Reply(status=500, raw=b'{"error": {"message": "script exhausted"}}')
            index = len(self.replies) - 1
        return self.replies[index]


def _message(reply: Reply) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_calls:
        msg["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)},
            }
            for name, args in reply.tool_calls
        ]
    return msg


def _usage(reply: Reply) -> dict[str, int]:
    total = reply.prompt_tokens + reply.completion_tokens
    return {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens, "total_tokens": total}


def completion(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": _message(reply), "finish_reason": "tool_calls" if reply.tool_calls else "stop"}
        ],
        "usage": _usage(reply),
    }


def chunks(reply: Reply, model: str, include_usage: bool) -> Iterator[dict[str, Any]]:
    """The same reply as streaming chunks: role, content pieces, tool-call pieces, finish, usage."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex[:16]}", "object": "chat.completion.chunk", "created": 0, "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield chunk({"role": "assistant", "content": ""})
    text = reply.content or ""
    for i in range(0, len(text), 8):
        yield chunk({"content": text[i : i + 8]})
    for index, call in enumerate(_message(reply).get("tool_calls", [])):
        args = call["function"]["arguments"]
        head = {"index": index, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"]}}
        yield chunk({"tool_calls": [{**head, "function": {**head["function"], "arguments": ""}}]})
        for i in range(0, len(args), 10):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": args[i : i + 10]}}]})
    yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
    if include_usage:
        yield {**base, "choices": [], "usage": _usage(reply)}


def _handler(fake: FakeOpenAI) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, json.dumps({"object": "list", "data": [{"id": "fake", "object": "model"}]}).encode())
            else:
                self._send(404, b'{"error": {"message": "not found"}}')

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if not self.path.endswith("/chat/completions"):
                self._send(404, b'{"error": {"message": "not found"}}')
                return
            fake.raw_requests.append(raw)
            fake.headers.append({k.lower(): v for k, v in self.headers.items()})
            body = json.loads(raw)
            fake.requests.append(body)
            reply = fake.next_reply()
            time.sleep(reply.delay_s)
            if reply.raw is not None or reply.status != 200:
                self._send(reply.status, reply.raw or b"")
                return
            model = body.get("model", "fake")
            if not body.get("stream"):
                self._send(200, json.dumps(completion(reply, model)).encode())
                return
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            stream = (
                b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks(reply, model, include_usage))
                + b"data: [DONE]\n\n"
            )
            self._send(200, stream, "text/event-stream")

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def fake_openai(replies: list[Reply], repeat_last: bool = False) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(replies, repeat_last=repeat_last)
    with serve(_handler(fake)) as url:
        fake.url = f"{url}/v1"
        yield fake
