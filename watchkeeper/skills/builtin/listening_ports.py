"""listening_ports: which process listens on which port, like `ss -ltnup`."""

from __future__ import annotations

import socket
from typing import Any, Literal

import psutil
from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext

FAMILIES = (socket.AF_INET, socket.AF_INET6)


class ListeningPortsParams(SkillParams):
    protocol: Literal["tcp", "udp", "all"] = Field("all", description="Which sockets to list.")


@skill(
    key="listening_ports",
    name="Listening ports",
    description="Sockets listening for connections (TCP) or bound (UDP), with address, port, pid and process name; "
    "and this host's own addresses (what a listener on one address does not answer on).",
    risk=RiskClass.SAFE,
    scope=Scope.HOST,
    category="network",
    idempotent=True,
    result_example={
        "ports": [{"protocol": "tcp", "address": "0.0.0.0", "port": 22, "pid": 611, "process": "sshd"}],
        "count": 1,
        "host_addresses": ["10.0.4.7", "127.0.0.1", "::1"],
    },
)
def listening_ports(params: ListeningPortsParams, ctx: SkillContext) -> dict[str, Any]:
    kind = "inet" if params.protocol == "all" else params.protocol
    names: dict[int, str] = {}
    rows = []
    for conn in psutil.net_connections(kind=kind):
        is_tcp = conn.type == socket.SOCK_STREAM
        if (is_tcp and conn.status != psutil.CONN_LISTEN) or (not is_tcp and conn.raddr) or not conn.laddr:
            continue
        name = None
        if conn.pid:
            if conn.pid not in names:
                try:
                    names[conn.pid] = psutil.Process(conn.pid).name()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    names[conn.pid] = ""
            name = names[conn.pid] or None
        rows.append(
            {
                "protocol": "tcp" if is_tcp else "udp",
                "address": conn.laddr.ip,
                "port": conn.laddr.port,
                "pid": conn.pid,
                "process": name,
            }
        )
    # A pre-forked server's socket is held by its master and every worker: the row kept names a process
    # that still exists (a worker may die between listing and naming), the lowest pid first (the master).
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in sorted(rows, key=lambda r: (r["process"] is None, r["pid"] or 0)):
        unique.setdefault((r["protocol"], r["address"], r["port"]), r)
    ports = sorted(unique.values(), key=lambda r: (r["port"], r["protocol"], r["address"]))
    own = {a.address.split("%")[0] for addrs in psutil.net_if_addrs().values() for a in addrs if a.family in FAMILIES}
    return {"ports": ports, "count": len(ports), "host_addresses": sorted(own)}
