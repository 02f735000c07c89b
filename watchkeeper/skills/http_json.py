"""GET a JSON API (Prometheus, Alertmanager, Loki) with the errors an operator can act on."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from watchkeeper.config import ObservabilitySettings, resolve_secret
from watchkeeper.errors import SkillFailed
from watchkeeper.skills.context import SkillContext


def backend_url(ctx: SkillContext, name: str) -> str:
    url = getattr(ctx.settings.observability, f"{name}_url")
    if not url:
        raise SkillFailed(
            f"no {name} configured: set observability.{name}_url (or WK_OBSERVABILITY__{name.upper()}_URL)"
        )
    return str(url).rstrip("/")


def get_json(ctx: SkillContext, base: str, path: str, params: dict[str, Any], what: str) -> Any:
    """The decoded body; a backend's own error message is passed through, an outage said plainly."""
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    timeout = min(ctx.settings.observability.timeout_s, max(ctx.remaining() - 0.5, 0.5))
    return request_json(ctx.settings.observability, base, f"{path}?{query}" if query else path, timeout, what)


def request_json(obs: ObservabilitySettings, base: str, path: str, timeout: float, what: str) -> Any:
    """GET base+path with the configured headers (skills and `wk doctor` alike); SkillFailed names the problem."""
    headers = {"Accept": "application/json", **{k: resolve_secret(v) for k, v in obs.headers.items()}}
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{base}{path}", headers=headers), timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")
        try:
            detail = json.loads(body).get("error") or body
        except (json.JSONDecodeError, AttributeError):
            detail = body.strip()
        raise SkillFailed(f"{what} rejected the request ({exc.code}): {str(detail)[:500]}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise SkillFailed(f"{what} at {base} did not answer within {timeout:g} s") from None
        raise SkillFailed(f"{what} at {base} is unreachable: {reason}") from None
    except json.JSONDecodeError:
        raise SkillFailed(f"{what} at {base} did not answer JSON (is that the right URL?)") from None
