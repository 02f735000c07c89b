"""A session's timeline: its tool calls and model requests, in time order."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from watchkeeper.audit.model_log import ModelLog

if TYPE_CHECKING:
    from watchkeeper.app import App


def session_timeline(
    app: App, session_id: str, limit: int, tool: str | None = None, since: datetime | None = None
) -> list[dict[str, Any]]:
    """A whole investigation or chat: its tool calls (of `tool`, `since`) and its model requests, oldest first."""
    calls = app.ledger.rows(tool=tool, since=since, session_id=session_id, limit=limit)
    requests = ModelLog(app.engine).rows(session_id=session_id, limit=limit)
    merged = [{"kind": "tool_call", **r} for r in calls] + [{"kind": "model_request", **r} for r in requests]
    return sorted(merged, key=lambda r: str(r["started_at"]))
