"""Model requests: session, model, tokens in/out and latency, kept beside the tool-call ledger so
`wk audit --session ID` shows a whole investigation. Not hash-chained: they run nothing."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, insert, select
from sqlalchemy.exc import SQLAlchemyError

from watchkeeper.redact import redact_text
from watchkeeper.store.models import ModelRequest

REQUESTS = cast(Table, ModelRequest.__table__)


@dataclass(frozen=True)
class ModelRequestRecord:
    session_id: str | None
    model: str
    role: str  # the agent role that asked: investigator, coordinator, metrics, chat, ...
    status: str  # ok | error
    input_tokens: int
    output_tokens: int
    tool_calls: int
    latency_ms: float
    started_at: datetime
    error: str | None = None


class ModelLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(self, record: ModelRequestRecord) -> bool:
        """Write one row; False when the store is down (a model request is never worth failing over)."""
        row = asdict(record)
        row["error"] = redact_text(record.error) if record.error else None
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(REQUESTS), [row])
        except SQLAlchemyError:
            return False
        return True

    def rows(self, session_id: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        query = select(REQUESTS).order_by(REQUESTS.c.id.desc())
        if session_id:
            query = query.where(REQUESTS.c.session_id == session_id)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            found = [dict(r._mapping) for r in conn.execute(query)]
        for r in found:
            ts: datetime = r["started_at"]
            r["started_at"] = (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).isoformat()
        return found[::-1]
