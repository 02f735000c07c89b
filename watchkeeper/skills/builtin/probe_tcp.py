"""probe_tcp: can a TCP connection be opened to host:port, and how fast."""

from __future__ import annotations

import socket
import time
from typing import Any

from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext


class ProbeTcpParams(SkillParams):
    host: str = Field(..., min_length=1, description="Host name or IP address.")
    port: int = Field(..., ge=1, le=65535, description="TCP port.")
    timeout_s: float = Field(5.0, gt=0, le=60, description="Connect timeout, in seconds.")


@skill(
    key="probe_tcp",
    name="Probe a TCP port",
    description="Try to open a TCP connection to host:port; reports open or the reason it failed "
    "(refused, timed out, unresolvable) and the connect latency.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="network",
    idempotent=True,
    result_example={"host": "127.0.0.1", "port": 5432, "open": True, "latency_ms": 0.4, "error": None},
)
def probe_tcp(params: ProbeTcpParams, ctx: SkillContext) -> dict[str, Any]:
    t0 = time.monotonic()
    error = None
    try:
        with socket.create_connection((params.host, params.port), timeout=min(params.timeout_s, ctx.remaining())):
            pass
    except TimeoutError:
        error = f"timed out after {params.timeout_s}s"
    except ConnectionRefusedError:
        error = "connection refused"
    except socket.gaierror as exc:
        error = f"cannot resolve {params.host}: {exc.strerror}"
    except OSError as exc:
        error = exc.strerror or str(exc)
    return {
        "host": params.host,
        "port": params.port,
        "open": error is None,
        "latency_ms": round((time.monotonic() - t0) * 1000, 2),
        "error": error,
    }
