"""Authentication around the whole app: a route added later cannot forget it. Every request but the
health probes carries `Authorization: Bearer <token>`; the principal lands in the request's state for
the routes' role checks. Too many failures from one address in a minute answer 429 for a while — to
bad credentials only: a valid token (or signature) from that address still gets through, so one noisy
client behind a shared address (a proxy, a NAT) cannot lock Alertmanager out of its own alerts.

The one exception: an alert post with no token but a signature header (`server.signatures`) goes on
unauthenticated, marked `Unverified` in its state; the route checks the signature over the raw body."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import anyio.to_thread

from watchkeeper.errors import StoreError
from watchkeeper.policy.access import Access, AuthError, Principal
from watchkeeper.server.asgi import ASGIApp, Receive, Scope, Send, header, send_problem
from watchkeeper.server.signatures import SIGNATURE_HEADERS

PUBLIC = frozenset({"/healthz", "/readyz"})
WEBHOOK_PATHS = ("/api/v1/alerts",)  # all a webhook token may reach
CHALLENGE = 'Bearer realm="watchkeeper"'


class FailureLimiter:
    """At most `limit` failed authentications per address in `window_s`; loopback is no exception (a
    proxy in front makes every client loopback, and a local attacker is an attacker too)."""

    def __init__(self, limit: int = 10, window_s: float = 60.0, max_addresses: int = 10_000) -> None:
        self.limit, self.window_s, self.max_addresses = limit, window_s, max_addresses
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, address: str, now: float) -> deque[float]:
        seen = self._failures.get(address, deque())
        while seen and seen[0] <= now - self.window_s:
            seen.popleft()
        return seen

    def retry_after(self, address: str, now: float | None = None) -> int | None:
        """Seconds until this address may try again; None: it may now."""
        now = time.monotonic() if now is None else now
        seen = self._recent(address, now)
        if len(seen) < self.limit:
            return None
        return max(1, math.ceil(seen[-self.limit] + self.window_s - now))

    def failed(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if address not in self._failures and len(self._failures) >= self.max_addresses:
            # Bounded memory under a spray of addresses: forget the quietest first.
            stale = [a for a, s in self._failures.items() if not self._recent(a, now)]
            for a in stale or list(self._failures)[: self.max_addresses // 10]:
                del self._failures[a]
        self._failures[address] = seen = self._recent(address, now)
        seen.append(now)

    def refuse(self, address: str) -> int | None:
        """A failed authentication from `address`: counted, unless the address is held back already;
        then the seconds it must wait (429), else None (401)."""
        wait = self.retry_after(address)
        if wait is None:
            self.failed(address)
        return wait


def too_many(address: str, wait: int) -> tuple[str, dict[str, str]]:
    """The 429's detail and headers."""
    return f"too many failed authentications from {address}: try again in {wait} s", {"Retry-After": str(wait)}


@dataclass(frozen=True)
class Unverified:
    """A signed alert post let through without a token: the route verifies the signature and reports a
    bad one through `refuse`, where it counts against the address like a bad token."""

    address: str
    limiter: FailureLimiter

    def refuse(self) -> int | None:
        return self.limiter.refuse(self.address)


def _signed_alert_post(scope: Scope) -> bool:
    path = scope["path"]
    return (
        scope["type"] == "http"
        and scope["method"] == "POST"
        and any(path == p or path.startswith(p + "/") for p in WEBHOOK_PATHS)
        and any(header(scope, name.encode()) is not None for name in SIGNATURE_HEADERS)
    )


class Authenticate:
    def __init__(self, app: ASGIApp, verify: Callable[[str], Principal], limiter: FailureLimiter) -> None:
        self.app, self.verify, self.limiter = app, verify, limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in PUBLIC:
            await self.app(scope, receive, send)
            return
        address = (scope.get("client") or ("unknown",))[0]
        given = header(scope, b"authorization")
        if given is None and _signed_alert_post(scope):
            scope.setdefault("state", {})["unverified"] = Unverified(address, self.limiter)
            await self.app(scope, receive, send)
            return
        scheme, _, token = (given or "").partition(" ")
        try:
            if given is None:
                raise AuthError("missing")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthError("invalid")
            principal = await anyio.to_thread.run_sync(self.verify, token.strip())
        except AuthError as exc:
            if (wait := self.limiter.refuse(address)) is not None:
                detail, headers = too_many(address, wait)
                await send_problem(send, 429, detail, "too-many-failures", headers)
                return
            detail = (
                f"{exc}: send 'Authorization: Bearer <token>'" if exc.reason in ("missing", "invalid") else str(exc)
            )
            await send_problem(send, 401, detail, f"token-{exc.reason}", {"WWW-Authenticate": CHALLENGE})
            return
        except StoreError as exc:  # the token cannot be checked: not the client's fault, try again later
            await send_problem(send, 503, str(exc), "store-unavailable", {"Retry-After": "5"})
            return
        if principal.access is Access.WEBHOOK and not scope["path"].startswith(WEBHOOK_PATHS):
            await send_problem(send, 403, "a webhook token can only post alerts", "forbidden")
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)
