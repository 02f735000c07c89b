"""What `wk config show` prints: the effective settings with every literal secret masked.

A reference (`env:NAME`, `file:PATH`) says where a secret is kept and is shown as written. Besides
what `redact` recognises by name (`llm.api_key`, `mcp.token`, `...PASSWORD` in an MCP server's
env), three kinds of setting are secrets whatever they are called: the ledger's HMAC key
(`audit.key`), HTTP header values, and notification URLs, whose path or host is the token of a
webhook or apprise URL (`slack://T…/B…/X…`). MCP servers' command lines are masked like a process's.
"""

from __future__ import annotations

from typing import Any

from watchkeeper.config import Settings
from watchkeeper.redact import MASK, redact, redact_argv
from watchkeeper.redact.keys import is_reference


def _literal(value: str) -> str:
    return value if is_reference(value) else MASK


def masked_url(url: str) -> str:
    """A target as configured: a secret reference as written, a URL as notifications show it (no tokens)."""
    from watchkeeper.notify.senders import shown

    return url if is_reference(url) else shown(url)


def settings_view(settings: Settings) -> dict[str, Any]:
    view = settings.model_dump(mode="json")
    if view["audit"]["key"]:
        view["audit"]["key"] = _literal(view["audit"]["key"])
    for headers in (view["observability"]["headers"], *(s["headers"] for s in view["mcp"]["servers"])):
        headers.update({name: _literal(value) for name, value in headers.items()})
    view["notify"]["urls"] = [masked_url(url) for url in view["notify"]["urls"]]
    for server in view["mcp"]["servers"]:
        if server["command"] is not None:
            server["command"], *server["args"] = redact_argv([server["command"], *server["args"]])
    return dict(redact(view))
