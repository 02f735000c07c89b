"""The authorisation matrix: every route by every role, no token, a malformed, an expired and a revoked
token. The health probes are open; everything else needs a token, a role that grants the route, and a
webhook token reaches nothing here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2

from tests.conftest import make_settings
from tests.server.conftest import Served, running
from watchkeeper.app import open_app
from watchkeeper.server.app import build_app
from watchkeeper.server.auth import FailureLimiter

MCP_INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}

# method, path, request options, the least role that may (None: open to all)
ROUTES: list[tuple[str, str, dict[str, Any], str | None]] = [
    ("GET", "/healthz", {}, None),
    ("GET", "/readyz", {}, None),
    ("GET", "/api/v1/skills", {}, "viewer"),
    ("GET", "/api/v1/skills/path_info", {}, "viewer"),
    ("GET", "/api/v1/audit", {}, "viewer"),
    ("GET", "/api/v1/audit/verify", {}, "viewer"),
    ("GET", "/metrics", {}, "viewer"),
    ("GET", "/openapi.json", {}, "viewer"),
    ("POST", "/api/v1/skills/path_info/invoke", {"json": {"params": {"path": "/"}}}, "operator"),
    ("POST", "/mcp", {"json": MCP_INIT, "headers": MCP_HEADERS}, "operator"),
]
RANK = ["viewer", "operator", "approver", "admin"]


def expected(identity: str, least: str | None) -> int:
    if least is None:
        return 200
    if identity in ("none", "garbage", "expired", "revoked"):
        return 401
    if identity == "webhook":
        return 403
    return 200 if RANK.index(identity) >= RANK.index(least) else 403


def test_every_route_for_every_role_and_token_state(served_on: Served) -> None:
    served = served_on
    served.tokens["garbage"] = "wk_not-a-token"
    wrong = []
    for identity in ["none", "garbage", "expired", "revoked", "webhook", *RANK]:
        who = None if identity == "none" else identity
        with served.client(who) as client:
            for method, path, options, least in ROUTES:
                answer = client.request(method, path, **options)
                want = expected(identity, least)
                if answer.status_code != want:
                    wrong.append(f"{identity} {method} {path}: {answer.status_code}, expected {want}")
                elif want == 401:
                    assert answer.headers["www-authenticate"].startswith("Bearer")
                    assert answer.headers["content-type"] == "application/problem+json"
                elif want == 403:
                    assert answer.json()["status"] == 403, answer.text
    assert not wrong, "\n".join(wrong)


def test_an_unauthenticated_401_says_why(served: Served) -> None:
    missing = served.get("/api/v1/skills").json()
    expired = served.get("/api/v1/skills", "expired").json()
    revoked = served.get("/api/v1/skills", "revoked").json()
    assert missing["detail"] == "no API token was given: send 'Authorization: Bearer <token>'"
    assert expired["type"].endswith("token-expired") and revoked["type"].endswith("token-revoked")


def test_too_many_failures_from_one_address_answer_429(tmp_path: Path, log_dir: Path) -> None:
    core = open_app(make_settings(tmp_path, log_dir), import_mcp=False)
    try:
        with running(build_app(core, limiter=FailureLimiter(limit=10, window_s=60))) as url:
            with httpx2.Client(base_url=url, headers={"Authorization": "Bearer wk_wrong"}) as client:
                codes = [client.get("/api/v1/skills").status_code for _ in range(11)]
                assert codes == [401] * 10 + [429]
                limited = client.get("/api/v1/skills")
            assert limited.status_code == 429 and 1 <= int(limited.headers["retry-after"]) <= 60
            assert httpx2.get(f"{url}/healthz").status_code == 200  # the probes stay open
    finally:
        core.close()


def test_a_token_created_or_revoked_takes_effect_on_the_next_request(served: Served) -> None:
    from datetime import timedelta

    from watchkeeper.policy.users import create_token, revoke_token

    token, info = create_token(served.core.engine, "viewer", timedelta(hours=1))
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx2.get(f"{served.url}/api/v1/skills", headers=headers).status_code == 200
    revoke_token(served.core.engine, info.id)
    assert httpx2.get(f"{served.url}/api/v1/skills", headers=headers).status_code == 401


def test_a_foreign_host_or_origin_is_refused_on_every_route(tmp_path: Path, log_dir: Path) -> None:
    """DNS rebinding: a page on another site reaching 127.0.0.1 through a browser sends its own Host or
    Origin. `mcp.allowed_hosts` / `allowed_origins` admit a proxy's names, for the whole app."""
    from tests.server.conftest import serve_core

    mcp = {"allowed_hosts": ["wk.example.org:*"], "allowed_origins": ["https://console.example.org"]}
    with serve_core(tmp_path, log_dir, mcp=mcp) as served, served.client("viewer") as client:
        assert client.get("/api/v1/skills", headers={"Host": "evil.example.com"}).status_code == 421
        assert client.get("/metrics", headers={"Origin": "http://evil.example.com"}).status_code == 403
        assert client.post("/mcp", headers={"Host": "evil.example.com:80"}, json={}).status_code == 421
        assert client.get("/api/v1/skills", headers={"Host": "wk.example.org:443"}).status_code == 200
        assert client.get("/api/v1/skills", headers={"Origin": "https://console.example.org"}).status_code == 200
        assert client.get("/healthz", headers={"Host": "10.0.0.7:8765"}).status_code == 200  # probes: any Host
