"""The tool-call ledger: append-only, hash-chained, keyed with a secret kept outside the database.

Each row stores HMAC(key, previous row's hash + its own canonical content). Without the key a
person who can write the database cannot recompute the chain after editing a row. Row ids are
assigned here, under the append lock, so they are contiguous and a gap means a deletion; the
MAC'd `ledger_head` row catches deletions at the end.

When the store cannot be written, rows go to a spool file (`spool.py`) or, when that cannot be
written either, wait in memory, counted where a full disk cannot erase the count
(`lost_rows.py`); they are written, in order, once the store is back, and rows a dead process
could not save become one `gap` row. A mutating or dangerous call first records an `intent`
row that must be durable — committed with a synced journal, or fsync'ed into the spool — or
the call does not happen (`record_intent` raises `LedgerUnavailable`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from watchkeeper.audit.lost_rows import LostRows
from watchkeeper.audit.spool import Spool
from watchkeeper.canonical import canonical_json
from watchkeeper.errors import LedgerUnavailable, first_line
from watchkeeper.redact import redact, redact_text
from watchkeeper.store.db import synced
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
_LATER_COLUMNS = frozenset({"proposed_by", "call_id"})
# Rows that are not the outcome of a call: the record made before acting, and rows lost on a full disk.
INTENT, GAP = "intent", "gap"
SPOOL_FILE, LOST_ROWS_FILE = "audit-spool.jsonl", "audit-lost-rows"


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
    call_id: str = field(default_factory=lambda: uuid.uuid4().hex)  # shared by a call's intent and outcome rows

    @property
    def duration_ms(self) -> float:
        return round((self.finished_at - self.started_at).total_seconds() * 1000, 3)


@dataclass
class VerifyReport:
    rows_checked: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)
    # Not tampering, but worth a person's eye: rows lost on a full disk, calls begun with no outcome row.
    notes: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rows_checked": self.rows_checked,
            "problems": [{"row_id": i, "problem": p} for i, p in self.problems],
            "notes": [{"row_id": i, "note": n} for i, n in self.notes],
        }


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
    def __init__(self, engine: Engine, key: bytes, spool_dir: Path | None = None) -> None:
        self.engine = engine
        self._key = key
        self._lock = threading.Lock()
        self._memory: list[dict[str, Any]] = []  # rows in neither the store nor the spool
        self._spool = Spool(spool_dir / SPOOL_FILE) if spool_dir is not None else None
        self._lost = LostRows(spool_dir / LOST_ROWS_FILE) if spool_dir is not None else None
        if self._lost is not None:
            self._lost.claim()
            self._record_gaps(self._lost)

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
            "call_id": record.call_id,
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

    def _commit(self, rows: list[dict[str, Any]], durable: bool) -> list[int]:
        # A record that must exist before acting is on the disk before it is acted on, host crash included.
        with synced(self.engine) if durable else self.engine.begin() as conn:
            return self._write(conn, rows)

    def _store(self, rows: list[dict[str, Any]], durable: bool = False) -> list[int]:
        """Write spooled rows, rows held in memory, then `rows`, in that order, in one transaction."""
        if self._spool is not None and self._spool.may_hold_rows():
            with self._spool.locked():
                ids = self._commit([*self._unwritten(self._spool.read()), *self._memory, *rows], durable)
                self._spool.clear()
        else:
            ids = self._commit([*self._memory, *rows], durable)
        if self._memory:
            self._memory = []
            self._count_memory()
        return ids

    def _unwritten(self, spooled: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Spooled rows minus any already in the store (a process that died between commit and truncate)."""
        ids = [r["call_id"] for r in spooled if r.get("call_id")]
        if not ids:
            return spooled
        query = select(CALLS.c.call_id, CALLS.c.status).where(CALLS.c.call_id.in_(ids))
        with self.engine.connect() as conn:
            done = {(c, st) for c, st in conn.execute(query)}
        return [r for r in spooled if (r.get("call_id"), r["status"]) not in done]

    def _count_memory(self) -> None:
        if self._lost is not None:
            self._lost.hold([(r["tool_name"], r["started_at"]) for r in self._memory])

    def append(self, record: CallRecord) -> int | None:
        """Write one row and return its id; None when the store is down and the row waits."""
        row = self.to_row(record)
        with self._lock:
            try:
                return self._store([row])[-1]
            except (SQLAlchemyError, OSError):
                self._memory.append(row)
                self._count_memory()
                return None

    def record_intent(self, record: CallRecord) -> None:
        """Durably record that a call is about to act, or raise LedgerUnavailable: nothing acts unrecorded."""
        row = self.to_row(record)
        with self._lock:
            try:
                self._store([row], durable=True)
                return
            except (SQLAlchemyError, OSError) as exc:
                store_error = first_line(exc)
            if self._spool is None:
                raise LedgerUnavailable(f"the audit ledger cannot be written ({store_error})")
            try:
                with self._spool.locked():
                    self._spool.append([*self._memory, row])
            except OSError as exc:
                raise LedgerUnavailable(
                    f"the audit ledger cannot be written (store: {store_error}; spool: {first_line(exc)})"
                ) from None
            if self._memory:
                self._memory = []
                self._count_memory()

    def close(self) -> None:
        """Write what waits in memory (to the store, else the spool) and let go of the lost-rows slot."""
        self.flush()
        if self._lost is not None:
            self._lost.close()  # rows still waiting stay counted in the slot: the next start records the gap

    def flush(self) -> None:
        """Move rows waiting in memory to the store, else to the spool (the app core's close calls it)."""
        with self._lock:
            if not self._memory:
                return
            try:
                self._store([])
                return
            except (SQLAlchemyError, OSError):
                pass
            if self._spool is None:
                return
            try:
                with self._spool.locked():
                    self._spool.append(self._memory)
            except OSError:
                return  # the lost-rows slot still counts them: the next start records the gap
            self._memory = []
            self._count_memory()

    def _record_gaps(self, lost: LostRows) -> None:
        """One `gap` row for each process that ended holding rows it could write nowhere."""
        for slot, loss in lost.orphans():
            now = datetime.now(UTC)
            first = datetime.fromisoformat(loss.first_at) if loss.first_at else now
            last = datetime.fromisoformat(loss.last_at) if loss.last_at else now
            gap = CallRecord(
                tool_name="ledger",
                args={"lost_rows": loss.rows, "pid": loss.pid, "tools": loss.tools},
                status=GAP,
                started_at=first,
                finished_at=last,
                caller_role="system",
                error=f"{loss.rows} audit row(s) of process {loss.pid} were lost: neither the store nor the "
                "spool could be written before it ended",
            )
            try:
                self._store([self.to_row(gap)])
            except (SQLAlchemyError, OSError):
                lost.release(slot, recorded=False)  # still full: a later start records it
                continue
            lost.release(slot, recorded=True)

    def backlog(self) -> list[dict[str, Any]]:
        """Rows not yet in the store: spooled ones, then those waiting in memory."""
        spooled = self._spool.read() if self._spool is not None and self._spool.may_hold_rows() else []
        return [*spooled, *self._memory]

    @property
    def pending_count(self) -> int:
        return len(self.backlog())

    # -- reading ---------------------------------------------------------------------------

    def rows(
        self,
        tool: str | None = None,
        since: datetime | None = None,
        session_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        user: str | None = None,
        edge: str | None = None,
    ) -> list[dict[str, Any]]:
        """Ledger rows, newest last, as plain dicts with every column."""
        query = select(ToolCall).order_by(ToolCall.id)
        if tool:
            query = query.where(ToolCall.tool_name == tool)
        if user:
            query = query.where(ToolCall.caller_user_id == user)
        if edge:
            query = query.where(ToolCall.edge_id == edge)
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
        begun: dict[str, tuple[int, str]] = {}  # intent rows still waiting for their outcome row
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
                self._note(report, row, begun)
                prev_id, prev_hash = row.id, row.row_hash
            for call_id, (row_id, tool) in begun.items():
                report.notes.append(
                    (
                        row_id,
                        f"{tool} was about to act ({call_id[:8]}) and no outcome row follows: the process "
                        "ended during the call, or its outcome is still waiting to be written",
                    )
                )
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
    def _note(report: VerifyReport, row: ToolCall, begun: dict[str, tuple[int, str]]) -> None:
        if row.status == INTENT and row.call_id:
            begun[row.call_id] = (row.id, row.tool_name)
        elif row.status == GAP:
            report.notes.append((row.id, row.error or "audit rows were lost"))
        elif row.call_id:
            begun.pop(row.call_id, None)

    @staticmethod
    def _content_columns() -> list[str]:
        skip = {"id", "prev_hash", "row_hash"}
        return [c.name for c in ToolCall.__table__.columns if c.name not in skip]

    def total(self, outcomes_only: bool = False) -> int:
        """Rows in the store; `outcomes_only` leaves out intent and gap rows (one row per call attempt)."""
        query = select(func.count()).select_from(ToolCall)
        if outcomes_only:
            query = query.where(ToolCall.status.not_in((INTENT, GAP)))
        with Session(self.engine) as session:
            return int(session.scalar(query) or 0)
