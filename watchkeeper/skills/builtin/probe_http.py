"""probe_http: status, latency and, for https, the certificate's days to expiry."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography import x509
from pydantic import Field, field_validator

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext

BODY_EXCERPT = 500
KEPT_HEADERS = ("server", "content-type", "content-length", "location", "retry-after")


class ProbeHttpParams(SkillParams):
    url: str = Field(..., description="http:// or https:// URL to request.")
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = Field("GET", description="HTTP method.")
    expected_status: int | None = Field(
        None, ge=100, le=599, description="Status that counts as healthy; default: any 2xx or 3xx."
    )
    timeout_s: float = Field(10.0, gt=0, le=120, description="Connect and read timeout, in seconds.")
    verify_tls: bool = Field(True, description="Verify the server certificate for https URLs.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    body: str | None = Field(None, description="Request body for POST/PUT.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http:// or https:// URL")
        return value


def _cert_facts(der: bytes | None) -> dict[str, Any]:
    if not der:
        return {}
    cert = x509.load_der_x509_certificate(der)
    not_after = cert.not_valid_after_utc
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_after": not_after.isoformat(),
        "days_to_expiry": round((not_after - datetime.now(UTC)).total_seconds() / 86400, 1),
    }


def _request(params: ProbeHttpParams, timeout: float, context: ssl.SSLContext | None) -> dict[str, Any]:
    parts = urlsplit(params.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.connect()
        der = conn.sock.getpeercert(binary_form=True) if isinstance(conn.sock, ssl.SSLSocket) else None
        conn.request(
            params.method, path, body=params.body, headers={"User-Agent": "watchkeeper-probe", **params.headers}
        )
        resp = conn.getresponse()
        body = resp.read(BODY_EXCERPT).decode("utf-8", errors="replace") if params.method != "HEAD" else ""
        return {
            "status": resp.status,
            "reason": resp.reason,
            "latency_ms": round((time.monotonic() - t0) * 1000, 2),
            "headers": {k: v for k, v in ((h, resp.getheader(h)) for h in KEPT_HEADERS) if v is not None},
            "body_excerpt": body,
            "tls": _cert_facts(der) if parts.scheme == "https" else None,
        }
    finally:
        conn.close()


@skill(
    key="probe_http",
    name="Probe an HTTP endpoint",
    description="Request a URL and report status, latency, key headers and a body excerpt; for https also "
    "the certificate's subject, issuer and days to expiry, and whether it verified. Failures to connect are "
    "reported in the result (ok: false, error).",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="network",
    idempotent=True,
    result_example={
        "url": "https://example.internal/health",
        "ok": True,
        "status": 200,
        "reason": "OK",
        "latency_ms": 12.3,
        "headers": {"content-type": "application/json"},
        "body_excerpt": '{"status":"ok"}',
        "tls": {
            "subject": "CN=example.internal",
            "issuer": "CN=Internal CA",
            "not_after": "2027-01-01T00:00:00+00:00",
            "days_to_expiry": 40.2,
            "verified": True,
        },
        "error": None,
    },
)
def probe_http(params: ProbeHttpParams, ctx: SkillContext) -> dict[str, Any]:
    timeout = min(params.timeout_s, ctx.remaining())
    https = params.url.startswith("https")
    context = ssl.create_default_context() if https else None
    if context is not None and not params.verify_tls:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    verify_error = None
    out: dict[str, Any] = {"url": params.url, "ok": False, "status": None, "error": None}
    try:
        try:
            out.update(_request(params, timeout, context))
        except ssl.SSLCertVerificationError as exc:
            # Still report status and expiry of a certificate that does not verify.
            verify_error = exc.verify_message or str(exc)
            loose = ssl.create_default_context()
            loose.check_hostname, loose.verify_mode = False, ssl.CERT_NONE
            out.update(_request(params, timeout, loose))
    except TimeoutError:
        out["error"] = f"timed out after {timeout:.1f}s"
    except ConnectionRefusedError:
        out["error"] = "connection refused"
    except socket.gaierror as exc:
        out["error"] = f"cannot resolve host: {exc.strerror}"
    except (OSError, http.client.HTTPException) as exc:
        out["error"] = f"{exc.__class__.__name__}: {exc}"
    if https and out.get("tls") is not None:
        out["tls"]["verified"] = None if not params.verify_tls else verify_error is None
        out["tls"]["verify_error"] = verify_error
    status = out.get("status")
    if status is not None:
        expected = status == params.expected_status if params.expected_status else 200 <= status < 400
        out["ok"] = expected and verify_error is None
        if not expected:
            want = params.expected_status or "2xx/3xx"
            out["error"] = f"status {status}, expected {want}"
        elif verify_error:
            out["error"] = f"TLS certificate did not verify: {verify_error}"
    return out
