"""Is the configured model endpoint there? For `wk doctor`: plain HTTP, no model client to import."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from watchkeeper.config import LlmSettings, resolve_secret


def check_endpoint(llm: LlmSettings, timeout_s: float = 5.0) -> tuple[bool, str]:
    """For `wk doctor`: does the configured endpoint answer /models, and does it know the model?"""
    resolved = llm.resolved
    if resolved is None:
        return True, "none configured: investigations use the deterministic triage"
    base_url, model = resolved
    headers = {"Authorization": f"Bearer {resolve_secret(llm.api_key)}"} if llm.api_key else {}
    request = urllib.request.Request(f"{base_url.rstrip('/')}/models", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        return False, f"{base_url}/models answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            return False, f"{base_url} did not answer within {timeout_s:g} s"
        return False, f"{base_url} unreachable: {reason}"
    try:
        known = {m.get("id") for m in json.loads(body).get("data", [])}
    except (ValueError, AttributeError):
        known = set()
    listed = "listed" if model in known else "not listed (some servers serve any name)"
    return True, f"{base_url}, model {model} {listed}"
