"""probe_dns: resolve a name like the host's applications do, or ask a given server."""

from __future__ import annotations

import socket
import time
from typing import Any, Literal

import dns.exception
import dns.resolver
import dns.reversename
from pydantic import Field, field_validator

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext

RecordType = Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "PTR", "SRV", "CAA"]


class ProbeDnsParams(SkillParams):
    name: str = Field(..., min_length=1, description="Name to resolve (for PTR: an IP address).")
    record_type: RecordType = Field("A", description="DNS record type.")
    server: str | None = Field(None, description="Ask this DNS server (ip or ip:port) instead of the host's resolver.")
    timeout_s: float = Field(5.0, gt=0, le=30, description="Resolution timeout, in seconds.")

    @field_validator("server")
    @classmethod
    def _server(cls, value: str | None) -> str | None:
        if value is None:
            return None
        host, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError:
            raise ValueError("must be an IP address, optionally with :port") from None
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError("port must be 1-65535")
        return value


def _system(name: str, record_type: str) -> list[str]:
    family = socket.AF_INET if record_type == "A" else socket.AF_INET6
    infos = socket.getaddrinfo(name, None, family, socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _ask(params: ProbeDnsParams, timeout: float) -> tuple[list[str], int | None]:
    resolver = dns.resolver.Resolver(configure=params.server is None)
    if params.server:
        host, _, port = params.server.rpartition(":") if params.server.count(":") == 1 else (params.server, "", "")
        resolver.nameservers = [host]
        resolver.port = int(port) if port else 53
    resolver.lifetime = timeout
    qname = dns.reversename.from_address(params.name) if params.record_type == "PTR" else params.name
    answer = resolver.resolve(qname, params.record_type)
    ttl = answer.rrset.ttl if answer.rrset is not None else None
    return sorted(r.to_text() for r in answer), ttl


@skill(
    key="probe_dns",
    name="Probe DNS",
    description="Resolve a name: A/AAAA through the host's own resolver (as applications see it, /etc/hosts "
    "included) unless a server is given; other record types, or any type against a given server, by DNS query.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="network",
    idempotent=True,
    result_example={
        "name": "db.internal",
        "record_type": "A",
        "server": None,
        "resolver": "system",
        "ok": True,
        "answers": ["10.0.0.12"],
        "ttl": None,
        "latency_ms": 1.2,
        "error": None,
    },
)
def probe_dns(params: ProbeDnsParams, ctx: SkillContext) -> dict[str, Any]:
    timeout = min(params.timeout_s, ctx.remaining())
    system = params.server is None and params.record_type in ("A", "AAAA")
    out: dict[str, Any] = {
        "name": params.name,
        "record_type": params.record_type,
        "server": params.server,
        "resolver": "system" if system else "dns",
        "answers": [],
        "ttl": None,
        "error": None,
    }
    t0 = time.monotonic()
    try:
        if system:
            out["answers"] = _system(params.name, params.record_type)
        else:
            out["answers"], out["ttl"] = _ask(params, timeout)
    except socket.gaierror as exc:
        out["error"] = f"cannot resolve: {exc.strerror}"
    except dns.resolver.NXDOMAIN:
        out["error"] = "NXDOMAIN: the name does not exist"
    except dns.resolver.NoAnswer:
        out["error"] = f"no {params.record_type} record for this name"
    except dns.resolver.NoNameservers as exc:
        out["error"] = f"no server could answer (SERVFAIL or refused): {exc}"
    except dns.exception.Timeout:
        out["error"] = f"timed out after {timeout:.1f}s"
    except (dns.exception.DNSException, ValueError) as exc:
        out["error"] = f"{exc.__class__.__name__}: {exc}"
    out["latency_ms"] = round((time.monotonic() - t0) * 1000, 2)
    out["ok"] = out["error"] is None and bool(out["answers"])
    return out
