"""A command against a running manager instead of the local data directory: `--server URL` and a token
(`--token`, or WK_SERVER / WK_TOKEN), through the same HTTP API scripts use. A problem the server
answers is one line on stderr: exit 2 when it is the caller's mistake (as it is locally), else exit 1,
as for a server that cannot be reached."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from watchkeeper.cli.common import fail

if TYPE_CHECKING:
    import urllib.error

ServerOption = Annotated[
    str | None,
    typer.Option("--server", envvar="WK_SERVER", help="A manager's URL (wk serve): act there, not on the local data."),
]
TokenOption = Annotated[
    str | None, typer.Option("--token", envvar="WK_TOKEN", help="An API token for --server (wk tokens create).")
]
TIMEOUT_S = 30
# The caller's mistake (no such incident, resolved already, a role too low, bad input): exit 2 as it is locally.
CALLERS_MISTAKE = frozenset({400, 403, 404, 409, 413, 422})


@dataclass(frozen=True)
class Remote:
    url: str
    token: str

    def get(self, path: str, **params: Any) -> Any:
        query = {k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items() if v is not None}
        return self.call("GET", f"{path}?{urllib.parse.urlencode(query)}" if query else path)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """The answer's JSON; a problem or an unreachable server ends the command with one line."""
        import urllib.error  # with http.client and ssl: 40 ms every other command need not pay
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as exc:
            fail(_problem(exc), 2 if exc.code in CALLERS_MISTAKE else 1)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            fail(f"cannot reach {self.url}: {reason}", 1)
        except ValueError:
            fail(f"{self.url} did not answer JSON: is it a watchkeeper manager?", 1)


def _problem(exc: urllib.error.HTTPError) -> str:
    """The problem's detail (RFC 9457), else the status line."""
    try:
        detail = json.loads(exc.read()).get("detail")
    except (ValueError, AttributeError, OSError):
        detail = None
    return str(detail) if detail else f"{exc.code} {exc.reason}"


def remote(server: str | None, token: str | None) -> Remote | None:
    """The manager to act on, or None for the local data directory."""
    if not server:
        if token:
            fail("--token goes with --server (or WK_SERVER): without one the local data directory is used")
        return None
    parsed = urllib.parse.urlsplit(server)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        fail(f"--server takes a URL like https://watchkeeper.example.com:8765, got {server!r}")
    if not token:
        fail("--server needs an API token: --token or WK_TOKEN (wk tokens create makes one)")
    return Remote(server.rstrip("/"), token)
