"""`wk doctor`: validate the config and check every configured backend, one line each."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from watchkeeper.config import default_config_path, load_settings
from watchkeeper.errors import WatchkeeperError


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def run_doctor() -> list[Check]:
    checks: list[Check] = []
    path = default_config_path()
    try:
        settings = load_settings()
    except WatchkeeperError as exc:
        return [Check("config", False, str(exc))]
    checks.append(Check("config", True, f"{path}" if path.exists() else f"{path} absent: defaults in use"))
    data = settings.data_dir
    try:
        data.mkdir(parents=True, exist_ok=True)
        writable = os.access(data, os.W_OK)
    except OSError as exc:
        writable, data = False, Path(f"{data} ({exc.strerror})")
    checks.append(Check("data directory", writable, f"{data} {'writable' if writable else 'NOT writable'}"))
    try:
        from watchkeeper.runtime import open_runtime

        rt = open_runtime(settings)
    except WatchkeeperError as exc:
        checks.append(Check("database", False, str(exc)))
        return checks
    with rt.engine.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    checks.append(
        Check("database", True, f"{rt.engine.url.render_as_string(hide_password=True)} at revision {revision}")
    )
    report = rt.ledger.verify()
    detail = (
        f"{report.rows_checked} rows, chain intact"
        if report.ok
        else "; ".join(f"row {i}: {p}" for i, p in report.problems[:3])
    )
    checks.append(Check("audit ledger", report.ok, detail))
    if rt.ledger.pending_count:
        checks.append(Check("audit backlog", False, f"{rt.ledger.pending_count} rows waiting for the store"))
    for root in settings.read_roots:
        checks.append(Check("read allowlist", root.is_dir(), f"{root} {'exists' if root.is_dir() else 'is missing'}"))
    skills = rt.registry.all()
    checks.append(
        Check(
            "skills",
            not rt.registry.load_errors,
            f"{len(skills)} registered"
            + (f"; problems: {'; '.join(rt.registry.load_errors)}" if rt.registry.load_errors else ""),
        )
    )
    for pack_dir in settings.skills.pack_dirs:
        checks.append(Check("skill packs", pack_dir.is_dir(), str(pack_dir)))
    if settings.mcp.servers:
        from watchkeeper.mcp.imports import server_states

        for state in server_states(settings, refresh=True):
            detail = state["error"] or f"{len(state['tools'])} tools imported ({state['transport']})"
            checks.append(Check(f"MCP server {state['name']}", state["state"] == "ok", detail))
    from watchkeeper.knowledge.skill import knowledge_base

    kb = knowledge_base(settings.db_url)
    method = kb.default_method()
    note = "" if kb.embedder else " (install the embedding model for hybrid: make embeddings)"
    checks.append(Check("knowledge", True, f"{len(kb.documents())} entries, {method} retrieval{note}"))
    from watchkeeper.agent.endpoint import check_endpoint

    try:
        reachable, detail = check_endpoint(settings.llm)
    except WatchkeeperError as exc:  # e.g. an api_key reference that cannot be resolved
        reachable, detail = False, str(exc)
    checks.append(Check("LLM", reachable, detail))
    journal = shutil.which("journalctl")
    checks.append(Check("journal", True, journal or "journalctl absent: read_journal will say so"))
    systemd = Path("/run/systemd/system").is_dir()
    manager = settings.services.manager
    if manager == "auto":
        manager = "systemd" if systemd else "supervisor" if shutil.which("supervisorctl") else "sysv"
    checks.append(
        Check(
            "service manager",
            True,
            f"{manager} ({'configured' if settings.services.manager != 'auto' else 'detected'})",
        )
    )
    return checks
