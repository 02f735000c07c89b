"""`build_app`: the manager's HTTP app over an app core, never a module-level app. Wrappers, outermost
first: metrics (every answer counted), Host/Origin, body size, authentication; then FastAPI with its
routers, /openapi.json and MCP at /mcp."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import partial
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse, Response
from mcp.server.context import ServerRequestContext
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route

from watchkeeper import __version__
from watchkeeper.app import App
from watchkeeper.incidents.process import WorkerProcess
from watchkeeper.incidents.queries import tallies
from watchkeeper.incidents.runner import Runner
from watchkeeper.mcp.server import build_server, mcp_caller
from watchkeeper.policy.access import Access, Principal
from watchkeeper.policy.risk import Caller
from watchkeeper.policy.users import authenticate
from watchkeeper.server import problems
from watchkeeper.server.asgi import ASGIApp, Receive, Scope, Send, send_problem
from watchkeeper.server.auth import PUBLIC, Authenticate, FailureLimiter
from watchkeeper.server.deps import CoreDep, lacks, need
from watchkeeper.server.guards import BodyLimit, HostCheck
from watchkeeper.server.metrics import CONTENT_TYPE, HttpMetrics, Metrics
from watchkeeper.server.openapi import document
from watchkeeper.server.routes import alerts, audit, health, incidents, silences, skills


class RequireAccess:
    """A raw ASGI endpoint (MCP's) behind a role, as `deps.need` puts a route behind one."""

    def __init__(self, app: ASGIApp, access: Access) -> None:
        self.app, self.access = app, access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if why := lacks(scope["state"]["principal"], self.access):
            await send_problem(send, 403, why, "forbidden")
            return
        await self.app(scope, receive, send)


def _mcp_caller(core: App) -> Callable[[ServerRequestContext[Any]], Caller]:
    """The MCP caller of one tool call: the API token's user, audited with caller role `mcp`."""

    def caller_of(ctx: ServerRequestContext[Any]) -> Caller:
        principal: Principal | None = getattr(getattr(ctx.request, "state", None), "principal", None)
        caller = mcp_caller(core)
        return replace(caller, user=principal.user) if principal else caller

    return caller_of


def build_app(
    core: App, metrics: Metrics | None = None, limiter: FailureLimiter | None = None, worker_process: bool = False
) -> FastAPI:
    """`worker_process`: the incident workers run in a child process (`wk serve`), not in threads of this one."""
    counted = metrics or Metrics(core.bus, partial(tallies, core.engine))
    core.invoker.observers.append(counted.invoked)
    cfg = core.settings
    mcp = build_server(core, caller_of=_mcp_caller(core)).streamable_http_app(
        streamable_http_path="/mcp",
        max_request_body_size=cfg.server.max_body_bytes,
        # The whole app checks Host and Origin (guards.HostCheck): MCP's own check would be a second, narrower one.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        host=cfg.server.host,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # alerts -> incidents -> investigations -> messages, in the background
        runner = WorkerProcess(core, counted) if worker_process else Runner(core)
        if cfg.incidents.workers:
            runner.start()
            counted.workers_up = lambda: runner.up
        else:
            runner.consumers()
        try:
            async with mcp.router.lifespan_context(mcp):  # MCP's session manager
                yield
        finally:
            await anyio.to_thread.run_sync(runner.stop, cfg.server.shutdown_s)

    app = FastAPI(
        title="watchkeeper",
        version=__version__,
        lifespan=lifespan,
        openapi_url=None,  # served below, behind a token, with one operation per skill
        docs_url=None,
        redoc_url=None,
    )
    app.state.core = core
    problems.install(app)
    app.include_router(health.router)
    app.include_router(skills.router, dependencies=[Depends(need(Access.VIEWER))])
    app.include_router(audit.router, dependencies=[Depends(need(Access.VIEWER))])
    app.include_router(alerts.router)  # intake takes a webhook token or a signature; reading needs a viewer
    app.include_router(incidents.router, dependencies=[Depends(need(Access.VIEWER))])
    app.include_router(silences.router, dependencies=[Depends(need(Access.VIEWER))])

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics (viewer or above)")
    def prometheus_metrics(_: Principal = Depends(need(Access.VIEWER))) -> Response:
        return Response(counted.render(), media_type=CONTENT_TYPE)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(core: CoreDep, _: Principal = Depends(need(Access.VIEWER))) -> JSONResponse:
        return JSONResponse(document(app, core.registry))

    endpoint = next(r for r in mcp.routes if isinstance(r, Route) and r.path == "/mcp").endpoint
    app.router.routes.append(Route("/mcp", endpoint=RequireAccess(endpoint, Access.OPERATOR)))

    app.add_middleware(
        Authenticate, verify=lambda token: authenticate(core.engine, token), limiter=limiter or FailureLimiter()
    )
    app.add_middleware(BodyLimit, limit=cfg.server.max_body_bytes)
    app.add_middleware(
        HostCheck,
        hosts=_own_hosts(cfg.server.host) + cfg.mcp.allowed_hosts,
        origins=cfg.mcp.allowed_origins,
        exempt=PUBLIC,
    )
    app.add_middleware(HttpMetrics, metrics=counted)
    return app


def _own_hosts(host: str) -> list[str]:
    """The bind address is a Host a client may send (a wildcard bind names no host: allowed_hosts does)."""
    return [] if host in ("0.0.0.0", "::", "") else [f"{host}:*" if ":" not in host else f"[{host.strip('[]')}]:*"]
