"""Streamable HTTP for the MCP server: loopback by default, Host/Origin validation, bearer token."""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings

from watchkeeper.config import resolve_secret
from watchkeeper.errors import ConfigError
from watchkeeper.mcp.server import build_server
from watchkeeper.runtime import Runtime

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


def build_http_app(rt: Runtime, host: str) -> ASGIApp:
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


def serve_http(rt: Runtime, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(build_http_app(rt, host), host=host, port=port, log_level="warning")
