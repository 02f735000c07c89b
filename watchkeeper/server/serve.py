"""Running the manager: refuse plain HTTP beyond loopback, listen, serve until SIGINT/SIGTERM. uvicorn's
graceful shutdown lets requests in flight finish within `server.shutdown_s`; the app's lifespan then
stops what it started."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn

from watchkeeper.app import App
from watchkeeper.errors import ConfigError
from watchkeeper.humanize import host_port
from watchkeeper.mcp.http import is_loopback, listen


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """uvicorn's, without raising the signal again once stopped: a manager stopped on purpose exits 0
        (systemd, make and a shell read that as success). A second signal still forces the exit."""
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def check_bind(host: str, tls: tuple[Path, Path] | None, allow_plain_http: bool) -> None:
    if tls is None and not allow_plain_http and not is_loopback(host.strip("[]")):
        raise ConfigError(
            f"refusing to serve plain HTTP on {host}: give --tls-cert and --tls-key (server.tls_cert, "
            "server.tls_key), or set server.allow_plain_http = true behind a reverse proxy that terminates TLS"
        )
    for path in tls or ():
        if not path.is_file():
            raise ConfigError(f"TLS file {path} does not exist or is not a file")


def serve(
    core: App,
    host: str,
    port: int,
    tls: tuple[Path, Path] | None,
    announce: Callable[[str], None] = lambda _url: None,
) -> None:
    from watchkeeper.server.app import build_app

    cfg = core.settings.server
    check_bind(host, tls, cfg.allow_plain_http)
    app = build_app(core, worker_process=True)
    bare = host.strip("[]")
    sock = listen(bare, port)
    scheme = "https" if tls else "http"
    announce(f"{scheme}://{host_port(bare, sock.getsockname()[1])}")
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(cfg.shutdown_s),
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
        server_header=False,
    )
    _Server(config).run(sockets=[sock])
