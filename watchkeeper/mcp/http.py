"""Streamable HTTP for the MCP server: loopback by default, Host/Origin validation, bearer token."""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings

from watchkeeper.config import resolve_secret
from watchkeeper.errors import ConfigError
from watchkeeper.humanize import host_port
from watchkeeper.mcp.server import Core, build_server

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class BearerAuth:
    """Refuses HTTP requests without the configured bearer token, with a message that says why."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self._expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization")
        if given is not None and hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        why = "missing bearer token: send 'Authorization: Bearer <token>'" if given is None else "wrong bearer token"
        body = json.dumps({"error": "unauthorized", "error_description": why}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b'Bearer realm="watchkeeper"'),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def build_http_app(rt: Core, host: str) -> ASGIApp:
    cfg = rt.settings.mcp
    token = resolve_secret(cfg.token) if cfg.token else None
    if not is_loopback(host) and not token:
        raise ConfigError(
            f'refusing to serve MCP on {host} without a token: set mcp.token (e.g. token = "env:WK_MCP_TOKEN") '
            "or bind to 127.0.0.1"
        )
    own = [] if is_loopback(host) else [f"{host}:*"]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*LOOPBACK_HOSTS, *own, *cfg.allowed_hosts],
        allowed_origins=[*LOOPBACK_ORIGINS, *cfg.allowed_origins],
    )
    app: ASGIApp = build_server(rt).streamable_http_app(transport_security=security, host=host)
    return BearerAuth(app, token) if token else app


def listen(host: str, port: int) -> socket.socket:
    """A socket already listening on host:port (port 0 picks a free one), IPv4 or IPv6 as the host is."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][0]
        # Created with proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose
        # proto says TCP, and without it a keep-alive response written in two parts waits ~40 ms for the
        # client's delayed ACK (Nagle), on every request.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen()
        except OSError:
            sock.close()
            raise
        return sock
    except OSError as exc:  # create_server's own message holds a Python tuple: say it in words
        why = exc.strerror if isinstance(exc, socket.gaierror) or not exc.errno else os.strerror(exc.errno)
        raise ConfigError(f"cannot listen on {host_port(host, port)}: {(why or str(exc)).lower()}") from None


def serve_http(rt: Core, host: str, port: int, announce: Callable[[str], None] = lambda _url: None) -> None:
    """Serve until stopped. The refusal to go unauthenticated beyond loopback comes first, and the URL
    is announced only once the socket listens, so a client told the URL can connect at once."""
    import uvicorn

    app = build_http_app(rt, host)
    bare = host.strip("[]")
    sock = listen(bare, port)
    announce(f"http://{host_port(bare, sock.getsockname()[1])}/mcp")
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
