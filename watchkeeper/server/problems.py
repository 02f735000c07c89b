"""One error shape for every route: RFC 9457 `application/problem+json` (`type`, `title`, `status`,
`detail`, and `errors` naming each invalid field)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM = "application/problem+json"
log = logging.getLogger(__name__)


class Problem(Exception):
    """Raised by a route: the response is this problem."""

    def __init__(
        self, status: int, detail: str, kind: str | None = None, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.kind, self.headers, self.extra = status, detail, kind, headers, extra


def problem_response(
    status: int, detail: str, kind: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    title = HTTPStatus(status).phrase
    body = {
        "type": f"urn:watchkeeper:problem:{kind or title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    """`("body", "params", "x")` -> `params.x`: where in the request, without FastAPI's own prefix."""
    parts = [str(p) for p in loc]
    return ".".join(parts[1:] if parts and parts[0] in ("body", "query", "path", "header") else parts) or "body"


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(exc.status, exc.detail, exc.kind, exc.headers, **exc.extra)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).description
    if exc.status_code == 404 and exc.detail == "Not Found":
        detail = f"no route {request.url.path}"
    elif exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    return problem_response(exc.status_code, detail, headers=dict(exc.headers or {}))


async def _on_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem_response(400, "the request body is not valid JSON", "malformed-json")
    fields = [{"field": _field(tuple(e.get("loc", ()))), "error": str(e.get("msg", ""))} for e in errors]
    listed = "; ".join(f"{f['field']}: {f['error']}" for f in fields)
    return problem_response(422, f"invalid request: {listed}", "invalid-request", errors=fields)


async def _on_crash(request: Request, exc: Exception) -> JSONResponse:
    # The trace goes to the server's log; the client gets one line and no internals.
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal error: the server's log has the details", "internal")


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_invalid)
    app.add_exception_handler(Exception, _on_crash)
