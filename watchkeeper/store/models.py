"""The tables. Schema changes go through an Alembic migration in `migrations/versions`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-aliases INTEGER PRIMARY KEY to the rowid; BIGINT elsewhere.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class ToolCall(Base):
    """One attempt to run a skill: the append-only, hash-chained audit ledger."""

    __tablename__ = "tool_calls"

    # Assigned by the ledger under its append lock so ids are contiguous: a gap is a deletion.
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=False)
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    tool_name: Mapped[str] = mapped_column(String(200), index=True)
    args_json: Mapped[str] = mapped_column(Text)
    result_json: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    edge_id: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[float] = mapped_column(Float)
    caller_user_id: Mapped[str | None] = mapped_column(String(200))
    caller_role: Mapped[str] = mapped_column(String(32))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    # Who proposed the call when it was not the caller, e.g. "model:qwen2.5" for a chat proposal a person ran.
    proposed_by: Mapped[str | None] = mapped_column(String(200))
    # One id per call attempt, shared by the intent row written before a non-safe call acts and its outcome row.
    call_id: Mapped[str | None] = mapped_column(String(32), index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class LedgerHead(Base):
    """The newest row of the chain, MAC'd, so deleting rows at the end is detected too."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(_BigId)
    last_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class KbDocument(Base):
    """A runbook, a note file or a case: the unit that is added, updated and forgotten."""

    __tablename__ = "kb_documents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source: Mapped[str] = mapped_column(Text, unique=True)
    type: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    meta_json: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class KbChunk(Base):
    """A section of a document (by heading) or one paragraph of a note: the unit retrieval ranks."""

    __tablename__ = "kb_chunks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    doc_id: Mapped[str] = mapped_column(String(40), ForeignKey("kb_documents.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class ModelRequest(Base):
    """One request to a language model, kept beside the tool calls of the same session."""

    __tablename__ = "model_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    model: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    input_tokens: Mapped[int] = mapped_column(Integer)
    output_tokens: Mapped[int] = mapped_column(Integer)
    tool_calls: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class User(Base):
    """A person (or a sender of alerts) the API knows; the role says what its tokens may do."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A bearer token of a user: only its SHA-256 is kept (the token is random and shown once)."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # public: shown in lists, used to revoke
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class BusEvent(Base):
    """An event on the bus, written in the transaction of the change that caused it (the outbox)."""

    __tablename__ = "bus_events"

    seq: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(200), unique=True)  # the idempotency key
    subject: Mapped[str] = mapped_column(String(255))
    data_json: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class BusConsumer(Base):
    """A durable consumer: created once, reused by name; it gets the events published after it exists."""

    __tablename__ = "bus_consumers"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    filter_subject: Mapped[str] = mapped_column(String(255))
    ack_wait_s: Mapped[float] = mapped_column(Float)
    max_deliver: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BusPending(Base):
    """An event a consumer has not acked: due at `deliver_after` (its ack deadline while in flight,
    the end of its back-off after a nak); `attempts` counts its deliveries so far."""

    __tablename__ = "bus_pending"

    consumer: Mapped[str] = mapped_column(
        String(100), ForeignKey("bus_consumers.name", ondelete="CASCADE"), primary_key=True
    )
    event_seq: Mapped[int] = mapped_column(_BigId, ForeignKey("bus_events.seq", ondelete="CASCADE"), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    deliver_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class BusDeadLetter(Base):
    """An event a consumer gave up on (terminated, or out of deliveries): never delivered to it again."""

    __tablename__ = "bus_dead_letters"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    consumer: Mapped[str] = mapped_column(String(100), index=True)
    event_seq: Mapped[int] = mapped_column(_BigId, ForeignKey("bus_events.seq"), index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)
    dead_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AlertDelivery(Base):
    """A sender's post as it came (stored before the answer): accepted ones are processed through the
    bus, rejected ones are kept with why."""

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    sender: Mapped[str | None] = mapped_column(String(200))  # the token's user or the signing source
    body: Mapped[str] = mapped_column(Text)
    alert_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # accepted | rejected | processed
    error: Mapped[str | None] = mapped_column(Text)


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    severity: Mapped[str] = mapped_column(String(16), index=True)
    root_target: Mapped[str] = mapped_column(String(300))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_alert_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolve_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    merged_into: Mapped[int | None] = mapped_column(Integer, ForeignKey("incidents.id"), nullable=True, index=True)
    previous_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("incidents.id"), nullable=True)
    flaps: Mapped[int] = mapped_column(Integer, default=0)


class AlertRow(Base):
    """One alert, by fingerprint: a resend updates it; `incident_id` and why it joined."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(300))
    labels_json: Mapped[str] = mapped_column(Text)
    annotations_json: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    target_key: Mapped[str] = mapped_column(String(300), index=True)
    target_json: Mapped[str] = mapped_column(Text)
    group_key: Mapped[str | None] = mapped_column(Text, index=True)
    generator_url: Mapped[str | None] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    received_count: Mapped[int] = mapped_column(Integer)
    incident_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("incidents.id"), nullable=True, index=True)
    join_rule: Mapped[str | None] = mapped_column(String(32))
    join_reason: Mapped[str | None] = mapped_column(Text)
    silenced_by: Mapped[str | None] = mapped_column(String(32))


class IncidentEvent(Base):
    """The incident's timeline: every transition, grouping decision, investigation, message and human action."""

    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(Integer, ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    data_json: Mapped[str] = mapped_column(Text)


class InvestigationRow(Base):
    """One investigation of an incident; `status` moves queued -> running -> done|failed exactly once."""

    __tablename__ = "investigations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(Integer, ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # initial | follow-up | manual
    status: Mapped[str] = mapped_column(String(16), index=True)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reports_json: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class SilenceRow(Base):
    __tablename__ = "silences"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    matchers_json: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Who ended it before its time, and when: a silence that hid alerts is answered for both ways.
    expired_by: Mapped[str | None] = mapped_column(String(200))
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class NotificationRow(Base):
    """A message about an incident to one target: queued, then sent, folded into a later one, or failed."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(Integer, ForeignKey("incidents.id"), index=True)
    event_id: Mapped[int] = mapped_column(BigInteger, index=True)  # the timeline entry it tells of
    kind: Mapped[str] = mapped_column(String(16))  # diagnosed | update | resolved
    text: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)  # as configured: a URL is never stored, only its reference or hash
    shown: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    folded_into: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
