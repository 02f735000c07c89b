"""wk serve: the manager."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from watchkeeper.cli.common import err, fail, open_cli_app


def alertmanager_snippet(url: str) -> str:
    """How to point Alertmanager at this manager: a webhook token in a file, and the receiver to add."""
    return f"""Alertmanager webhook: {url}/api/v1/alerts/alertmanager (Grafana: /api/v1/alerts/grafana)
  wk users add alertmanager --role webhook
  wk tokens create --user alertmanager --expires never > /etc/prometheus/watchkeeper.token
and in alertmanager.yml (route its alerts to this receiver):
  receivers:
    - name: watchkeeper
      webhook_configs:
        - url: {url}/api/v1/alerts/alertmanager
          send_resolved: true
          http_config:
            authorization:
              credentials_file: /etc/prometheus/watchkeeper.token"""


def serve(
    host: Annotated[str | None, typer.Option("--host", help="Bind address (default server.host).")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=0, max=65535, help="Port (default server.port; 0 picks one).")
    ] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="PEM certificate: serve HTTPS.")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert.")] = None,
) -> None:
    """Run the manager: the HTTP API, MCP at /mcp, /healthz, /readyz and /metrics, until Ctrl-C or SIGTERM."""
    from watchkeeper.oplog import log_to_stderr
    from watchkeeper.policy.users import list_users
    from watchkeeper.server.serve import serve as run

    app = open_cli_app()
    cfg = app.settings.server
    log_to_stderr(cfg.log_level)
    cert, key = tls_cert or cfg.tls_cert, tls_key or cfg.tls_key
    if (cert is None) != (key is None):
        fail("--tls-cert and --tls-key go together: give both or neither")
    first = not list_users(app.engine)

    def announce(url: str) -> None:
        err.print(f"watchkeeper manager on {url}  (API {url}/api/v1, MCP {url}/mcp, metrics {url}/metrics)")
        if first:
            err.print("no users yet: create one and a token in another shell:", highlight=False)
            err.print("  wk users add me --role admin && wk tokens create --user me", highlight=False)
        err.print(f'try: curl -H "Authorization: Bearer $TOKEN" {url}/api/v1/skills', highlight=False)
        err.print(alertmanager_snippet(url), highlight=False, markup=False)
        err.print("Ctrl-C stops it", highlight=False)

    run(app, host or cfg.host, cfg.port if port is None else port, (cert, key) if cert and key else None, announce)
