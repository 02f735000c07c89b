"""The tool-call ledger: append-only, hash-chained, keyed with a secret kept outside the database.

Each row stores HMAC(key, previous row's hash + its own canonical content). Without the key a
person who can write the database cannot recompute the chain after editing a row. Row ids are
assigned here, under the append lock, so they are contiguous and a gap means a deletion; the
MAC'd `ledger_head` row catches deletions at the end.

When the store cannot be written, rows are kept in memory (and spooled to a file at exit) and
written, in order, once it is back. `ensure_writable` lets callers fail closed meanwhile.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, func, insert, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from watchkeeper.canonical import canonical_json
from watchkeeper.errors import LedgerUnavailable
from watchkeeper.redact import redact, redact_text
from watchkeeper.store.models import LedgerHead, ToolCall

GENESIS = "0" * 64
CALLS = cast(Table, ToolCall.__table__)
HEAD = cast(Table, LedgerHead.__table__)
# Built once: statement construction is a measurable share of a cheap append.
_LOCK_HEAD = (
    update(HEAD).where(HEAD.c.id == 1).values(last_id=HEAD.c.last_id).returning(HEAD.c.last_id, HEAD.c.last_hash)
)
_INSERT = insert(CALLS)
_MOVE_HEAD = (
    update(HEAD)
    .where(HEAD.c.id == 1)
    .values(last_id=bindparam("new_id"), last_hash=bindparam("new_hash"), mac=bindparam("new_mac"))
)
_LATER_COLUMNS = frozenset({"proposed_by"})
STATUSES = ("succeeded", "failed", "refused", "timed_out", "invalid")


def _utc(ts: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything the ledger writes is UTC.
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _iso(ts: datetime) -> str:
    return _utc(ts).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class CallRecord:
    """What the ledger is told about one attempt; redacted by the ledger before it is stored."""

    tool_name: str
    args: dict[str, Any]
    status: str
    started_at: datetime
    finished_at: datetime
    caller_role: str
    result: Any = None
    error: str | None = None
    session_id: str | None = None
    edge_id: str | None = None
    caller_user_id: str | None = None
    approved_by: str | None = None
    proposed_by: str | None = None

    @property
    def duration_ms(self) -> float:
        return round((self.finished_at - self.started_at).total_seconds() * 1000, 3)


@dataclass
class VerifyReport:
    rows_checked: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def load_or_create_key(configured: str | None, data_dir: Path) -> bytes:
    """The chain key: the configured secret, else a random key created once beside the data."""
    from watchkeeper.config import resolve_secret

    if configured:
        return resolve_secret(configured).encode()
    path = data_dir / "ledger.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def _deleted(first: int, last: int) -> str:
    return f"row(s) {first} deleted" if first == last else f"row(s) {first}-{last} deleted"


def _content(row_id: int, rec: dict[str, Any]) -> str:
    """The canonical text a row's hash covers: every column but the hashes themselves. Columns added
    after the first schema count only when set, so rows written before them still verify."""
    return canonical_json(
        {
            "id": row_id,
            **{
                k: rec[k]
                for k in sorted(rec)
                if k not in ("started_at", "finished_at") and not (k in _LATER_COLUMNS and rec[k] is None)
            },
            "started_at": _iso(rec["started_at"]),
            "finished_at": _iso(rec["finished_at"]),
        }
    )


class Ledger:
    def __init__(self, engine: Engine, key: bytes, spool_path: Path | None = None) -> None:
        self.engine = engine
        self._key = key
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self._spool = spool_path
        self._spooled = False  # whether the spool file may hold rows
        if spool_path is not None:
            self._load_spool(spool_path)
            atexit.register(self.spool_pending)

    # -- writing -------------------------------------------------------------------------

    @staticmethod
    def to_row(record: CallRecord) -> dict[str, Any]:
        """Redact and serialise a record into column values (everything but id and hashes)."""
        return {
            "session_id": record.session_id,
            "tool_name": record.tool_name,
            "args_json": canonical_json(redact(record.args)),
            "result_json": None if record.result is None else canonical_json(redact(record.result)),
            "error": None if record.error is None else redact_text(record.error),
            "status": record.status,
            "edge_id": record.edge_id,
            "started_at": _utc(record.started_at),
            "finished_at": _utc(record.finished_at),
            "duration_ms": record.duration_ms,
            "caller_user_id": record.caller_user_id,
            "caller_role": record.caller_role,
            "approved_by": record.approved_by,
            "proposed_by": record.proposed_by,
        }

    def _mac(self, data: str) -> str:
        return hmac.new(self._key, data.encode(), hashlib.sha256).hexdigest()

    def _write(self, conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
        # The no-op UPDATE takes the write lock before reading the head (SQLite: RESERVED;
        # PostgreSQL: the row lock), so writers in any process serialise and never fork the chain.
        last_id, last_hash = conn.execute(_LOCK_HEAD).one()
        chained = []
        for rec in rows:
            last_id += 1
            row_hash = self._mac(last_hash + "\n" + _content(last_id, rec))
            chained.append({**rec, "id": last_id, "prev_hash": last_hash, "row_hash": row_hash})
            last_hash = row_hash
        conn.execute(_INSERT, chained)
        mac = self._mac(f"{last_id}:{last_hash}")
        conn.execute(_MOVE_HEAD, {"new_id": last_id, "new_hash": last_hash, "new_mac": mac})
        return [r["id"] for r in chained]

    def append(self, record: CallRecord) -> int | None:
        """Write one row and return its id; None when the store is down and the row is kept pending."""
        row = self.to_row(record)
        with self._lock:
            batch = [*self._pending, row]
            try:
                with self.engine.begin() as conn:
                    ids = self._write(conn, batch)
            except (SQLAlchemyError, OSError):
                self._pending = batch
                return None
            self._pending = []
            self._clear_spool()
            return ids[-1]

    def ensure_writable(self) -> None:
        """Raise LedgerUnavailable unless pending rows flush and a trial write succeeds."""
        with self._lock:
            try:
                if self._pending:
                    with self.engine.begin() as conn:
                        self._write(conn, self._pending)
                    self._pending = []
                    self._clear_spool()
                with self.engine.connect() as conn:
                    trial = conn.begin()
                    # A trial insert, rolled back, proves there is room for one more row.
                    conn.execute(
                        text(
                            "INSERT INTO tool_calls (id, tool_name, args_json, status, started_at, "
                            "finished_at, duration_ms, caller_role, prev_hash, row_hash) VALUES "
                            "(-1, 'trial', '{}', 'trial', :ts, :ts, 0, 'trial', '', '')"
                        ),
                        {"ts": datetime.now(UTC)},
                    )
                    trial.rollback()
            except (SQLAlchemyError, OSError) as exc:
                first_line = str(exc).splitlines()[0] if str(exc) else ""
                raise LedgerUnavailable(
                    f"the audit ledger cannot be written ({exc.__class__.__name__}: {first_line})"
                ) from exc

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    # -- spooling rows that could not be written before the process exits -----------------

    def spool_pending(self) -> None:
        if not self._pending or self._spool is None:
            return
        self._spooled = True
        with contextlib.suppress(OSError), self._spool.open("a") as fh:
            for row in self._pending:
                fh.write(
                    canonical_json(
                        {**row, "started_at": _iso(row["started_at"]), "finished_at": _iso(row["finished_at"])}
                    )
                    + "\n"
                )
            self._pending = []

    def _load_spool(self, path: Path) -> None:
        if not path.exists():
            return
        self._spooled = True
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                for key in ("started_at", "finished_at"):
                    row[key] = datetime.strptime(row[key], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
                self._pending.append(row)

    def _clear_spool(self) -> None:
        if self._spooled and self._spool is not None:
            with contextlib.suppress(FileNotFoundError):
                self._spool.unlink()
            self._spooled = False

    # -- reading ---------------------------------------------------------------------------

    def rows(
        self,
        tool: str | None = None,
        since: datetime | None = None,
        session_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Ledger rows, newest last, as plain dicts with every column."""
        query = select(ToolCall).order_by(ToolCall.id)
        if tool:
            query = query.where(ToolCall.tool_name == tool)
        if since:
            query = query.where(ToolCall.started_at >= _utc(since))
        if session_id:
            query = query.where(ToolCall.session_id == session_id)
        if status:
            query = query.where(ToolCall.status == status)
        if limit:
            query = query.order_by(None).order_by(ToolCall.id.desc()).limit(limit)
        with Session(self.engine) as session:
            found = [self._as_dict(r) for r in session.scalars(query)]
        return sorted(found, key=lambda r: r["id"])

    @staticmethod
    def _as_dict(row: ToolCall) -> dict[str, Any]:
        out = {c.name: getattr(row, c.name) for c in ToolCall.__table__.columns}
        out["started_at"] = _iso(row.started_at)
        out["finished_at"] = _iso(row.finished_at)
        return out

    def _iter_rows(self, session: Session) -> Iterator[ToolCall]:
        yield from session.scalars(select(ToolCall).order_by(ToolCall.id).execution_options(yield_per=500))

    def verify(self) -> VerifyReport:
        """Recompute the chain; every problem names the row id where it shows."""
        report = VerifyReport()
        with Session(self.engine) as session:
            prev_id, prev_hash = 0, GENESIS
            for row in self._iter_rows(session):
                report.rows_checked += 1
                if row.id != prev_id + 1:
                    report.problems.append((prev_id + 1, _deleted(prev_id + 1, row.id - 1)))
                elif row.prev_hash != prev_hash:
                    report.problems.append((row.id, "previous-hash link broken (row before it altered)"))
                rec = {c: getattr(row, c) for c in self._content_columns()}
                if not hmac.compare_digest(self._mac(row.prev_hash + "\n" + _content(row.id, rec)), row.row_hash):
                    report.problems.append((row.id, "row edited: its content does not match its hash"))
                prev_id, prev_hash = row.id, row.row_hash
            head = session.get(LedgerHead, 1)
            if head is None:
                report.problems.append((0, "ledger head missing"))
            elif head.last_id != prev_id or head.last_hash != prev_hash:
                if head.last_id > prev_id:
                    report.problems.append((prev_id + 1, _deleted(prev_id + 1, head.last_id)))
                else:
                    report.problems.append((prev_id, "ledger head does not match the last row"))
            elif prev_id and not hmac.compare_digest(head.mac, self._mac(f"{head.last_id}:{head.last_hash}")):
                report.problems.append((prev_id, "ledger head forged (MAC mismatch)"))
        return report

    @staticmethod
    def _content_columns() -> list[str]:
        skip = {"id", "prev_hash", "row_hash"}
        return [c.name for c in ToolCall.__table__.columns if c.name not in skip]

    def total(self) -> int:
        with Session(self.engine) as session:
            return int(session.scalar(select(func.count()).select_from(ToolCall)) or 0)
