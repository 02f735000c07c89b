"""Wrappers every request passes before it is authenticated: the Host and Origin a browser sends must
be ours (DNS rebinding), and a body may not exceed `server.max_body_bytes`."""

from __future__ import annotations

from watchkeeper.mcp.http import LOOPBACK_HOSTS, LOOPBACK_ORIGINS
from watchkeeper.server.asgi import ASGIApp, Message, Receive, Scope, Send, header, send_problem


def _matches(value: str, patterns: list[str]) -> bool:
    """`name:*` takes `name` on any port (or none); anything else is compared whole."""
    for pattern in patterns:
        if pattern.endswith(":*"):
            base = pattern[:-2]
            if value == base or (value.startswith(base + ":") and value[len(base) + 1 :].isdigit()):
                return True
        elif value == pattern:
            return True
    return False


class HostCheck:
    """421 for a Host that is not this server's, 403 for an Origin that is not allowed: a web page on
    another site cannot drive the API through a victim's browser. The health probes are exempt."""

    def __init__(self, app: ASGIApp, hosts: list[str], origins: list[str], exempt: frozenset[str]) -> None:
        self.app, self.exempt = app, exempt
        self.hosts, self.origins = [*LOOPBACK_HOSTS, *hosts], [*LOOPBACK_ORIGINS, *origins]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"] not in self.exempt:
            host, origin = header(scope, b"host"), header(scope, b"origin")
            if host is None or not _matches(host, self.hosts):
                detail = f"Host {host!r} is not served here (add it to mcp.allowed_hosts)"
                await send_problem(send, 421, detail, "misdirected")
                return
            if origin is not None and not _matches(origin, self.origins):
                await send_problem(send, 403, f"Origin {origin!r} is not allowed (mcp.allowed_origins)", "origin")
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """413 for a body over the limit: at once when Content-Length says so, else as soon as the
    streamed body passes it (the app then sees the client gone, and whatever it answers is dropped)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            detail = f"the request body ({declared} bytes) is larger than server.max_body_bytes ({self.limit})"
            await send_problem(send, 413, detail, "too-large")
            return
        seen, refused = 0, False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                refused = True
                detail = f"the request body is larger than server.max_body_bytes ({self.limit} bytes)"
                await send_problem(send, 413, detail, "too-large")
                return {"type": "http.disconnect"}
            return message

        async def unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, unless_refused)
