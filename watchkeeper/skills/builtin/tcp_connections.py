"""tcp_connections: who holds TCP connections to what, like `ss -tnp` summarised."""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import psutil
from pydantic import Field, field_validator

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext

PORT_RANGE_FILE = "/proc/sys/net/ipv4/ip_local_port_range"
DEFAULT_RANGE = (32768, 60999)  # the kernel's default, used when /proc does not say
PER_GROUP = 5  # processes (or clients) kept per group: the top few say who, the count says how many
WILDCARDS = {"0.0.0.0", "::"}


class TcpConnectionsParams(SkillParams):
    port: int | None = Field(None, ge=1, le=65535, description="Only connections whose remote or local port is this.")
    host: str | None = Field(None, description="Only connections whose remote address is this IP address.")
    top: int = Field(10, ge=1, le=100, description="How many groups each list keeps, biggest first.")

    @field_validator("host")
    @classmethod
    def _is_ip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return _ip(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address") from None


def _ip(text: str) -> str:
    """One spelling per address: an IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d."""
    addr = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


@dataclass(frozen=True)
class Conn:
    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int
    status: str
    pid: int | None


def _port_range() -> tuple[int, int]:
    try:
        with open(PORT_RANGE_FILE) as fh:
            low, high = fh.read().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return DEFAULT_RANGE


def _top(counter: Counter[Any], n: int) -> list[tuple[Any, int]]:
    # Biggest first; ties in a stable order so two calls on a quiet host read the same.
    return sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0])))[:n]


@skill(
    key="tcp_connections",
    name="TCP connections",
    description="A summary of the host's TCP connections (not listening sockets), like `ss -tnp`: counts per "
    "state; outgoing connections grouped by remote address and port with the processes holding them; "
    "connections per process; accepted connections per listening port with their top clients; and how much "
    "of the ephemeral port range outgoing connections use. Answers 'too many connections', connection-pool "
    "exhaustion, CLOSE_WAIT leaks and 'cannot assign requested address'.",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="network",
    idempotent=True,
    result_example={
        "total": 812,
        "states": {"ESTABLISHED": 700, "TIME_WAIT": 100, "CLOSE_WAIT": 12},
        "by_remote": [
            {
                "address": "127.0.0.1",
                "port": 5432,
                "count": 21,
                "states": {"ESTABLISHED": 21},
                "processes": [
                    {"pid": 77, "name": "nightly_export", "count": 20},
                    {"pid": 78, "name": "orders_api", "count": 1},
                ],
            }
        ],
        "by_process": [{"pid": 77, "name": "nightly_export", "count": 20, "states": {"ESTABLISHED": 20}}],
        "by_local_port": [
            {
                "port": 5432,
                "count": 21,
                "pid": 66,
                "name": "pgdb",
                "states": {"ESTABLISHED": 21},
                "clients": [{"address": "127.0.0.1", "count": 21}],
            }
        ],
        "ephemeral": {"range": [32768, 60999], "in_use": 123, "connections": 130, "percent": 0.4},
    },
)
def tcp_connections(params: TcpConnectionsParams, ctx: SkillContext) -> dict[str, Any]:
    listeners: dict[int, list[tuple[str, int | None]]] = defaultdict(list)  # port -> (address, pid)
    conns: list[Conn] = []
    for sock in psutil.net_connections(kind="tcp"):  # IPv4 and IPv6
        if not sock.laddr:
            continue
        local_ip, local_port = _ip(sock.laddr.ip), sock.laddr.port
        if sock.status == psutil.CONN_LISTEN:
            listeners[local_port].append((local_ip, sock.pid))
        elif sock.raddr and sock.status != psutil.CONN_NONE:
            conns.append(Conn(local_ip, local_port, _ip(sock.raddr.ip), sock.raddr.port, sock.status, sock.pid))

    names: dict[int, str | None] = {}

    def name(pid: int | None) -> str | None:
        if pid is None:
            return None
        if pid not in names:
            try:
                names[pid] = psutil.Process(pid).name()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                names[pid] = None
        return names[pid]

    def accepted(conn: Conn) -> bool:
        # Linux never picks an ephemeral port that a bound socket holds, so a local port some socket
        # listens on (on this address or on all) means the peer connected to us.
        return any(ip in (conn.local_ip, *WILDCARDS) for ip, _ in listeners.get(conn.local_port, ()))

    # The ephemeral range runs out for the whole host, so it is counted before any filter.
    low, high = _port_range()
    outgoing = [c for c in conns if not accepted(c) and low <= c.local_port <= high]
    ephemeral_ports = {c.local_port for c in outgoing}
    if params.port is not None:
        conns = [c for c in conns if params.port in (c.local_port, c.remote_port)]
    if params.host is not None:
        conns = [c for c in conns if c.remote_ip == params.host]

    remote: dict[tuple[str, int], list[Conn]] = defaultdict(list)
    process: dict[int | None, list[Conn]] = defaultdict(list)
    local: dict[int, list[Conn]] = defaultdict(list)
    for c in conns:
        process[c.pid].append(c)
        if accepted(c):
            local[c.local_port].append(c)
            continue
        # Incoming connections are grouped by listening port: by remote port, each would be a group of one.
        remote[(c.remote_ip, c.remote_port)].append(c)

    def pids(group: list[Conn]) -> list[dict[str, Any]]:
        return [
            {"pid": pid, "name": name(pid), "count": n} for pid, n in _top(Counter(c.pid for c in group), PER_GROUP)
        ]

    def state_counts(group: list[Conn]) -> dict[str, int]:
        return dict(_top(Counter(c.status for c in group), len(group)))

    by_remote = [
        {"address": ip, "port": port, "count": len(group), "states": state_counts(group), "processes": pids(group)}
        for (ip, port), group in sorted(remote.items(), key=lambda kv: (-len(kv[1]), kv[0]))[: params.top]
    ]
    by_process = [
        {"pid": pid, "name": name(pid), "count": len(group), "states": state_counts(group)}
        for pid, group in sorted(process.items(), key=lambda kv: (-len(kv[1]), kv[0] or 0))[: params.top]
    ]
    by_local_port = []
    for port, group in sorted(local.items(), key=lambda kv: (-len(kv[1]), kv[0]))[: params.top]:
        owner = next((pid for _, pid in listeners[port] if pid is not None), None)
        by_local_port.append(
            {
                "port": port,
                "count": len(group),
                "pid": owner,
                "name": name(owner),
                "states": state_counts(group),
                "clients": [
                    {"address": ip, "count": n} for ip, n in _top(Counter(c.remote_ip for c in group), PER_GROUP)
                ],
            }
        )
    size = high - low + 1
    return {
        "total": len(conns),
        "states": state_counts(conns),
        "by_remote": by_remote,
        "by_process": by_process,
        "by_local_port": by_local_port,
        "ephemeral": {
            "range": [low, high],
            "in_use": len(ephemeral_ports),
            "connections": len(outgoing),
            "percent": round(len(ephemeral_ports) / size * 100, 1) if size > 0 else None,
        },
    }
