"""alerts and incidents: deliveries as posted, alerts by fingerprint, incidents with their timeline,
investigations, silences and notifications

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_deliveries",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("received_at", _When, nullable=False, index=True),
        sa.Column("sender", sa.String(200)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("alert_count", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("severity", sa.String(16), nullable=False, index=True),
        sa.Column("root_target", sa.String(300), nullable=False),
        sa.Column("opened_at", _When, nullable=False, index=True),
        sa.Column("updated_at", _When, nullable=False),
        sa.Column("last_alert_at", _When, nullable=False),
        sa.Column("resolve_after", _When),
        sa.Column("resolved_at", _When),
        sa.Column("resolved_by", sa.String(200)),
        sa.Column("acknowledged_by", sa.String(200)),
        sa.Column("acknowledged_at", _When),
        sa.Column("merged_into", sa.Integer, sa.ForeignKey("incidents.id"), index=True),
        sa.Column("previous_id", sa.Integer, sa.ForeignKey("incidents.id")),
        sa.Column("flaps", sa.Integer, nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("labels_json", sa.Text, nullable=False),
        sa.Column("annotations_json", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("target_key", sa.String(300), nullable=False, index=True),
        sa.Column("target_json", sa.Text, nullable=False),
        sa.Column("group_key", sa.Text, index=True),
        sa.Column("generator_url", sa.Text),
        sa.Column("starts_at", _When, nullable=False),
        sa.Column("ends_at", _When),
        sa.Column("first_seen_at", _When, nullable=False),
        sa.Column("last_seen_at", _When, nullable=False, index=True),
        sa.Column("received_count", sa.Integer, nullable=False),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), index=True),
        sa.Column("join_rule", sa.String(32)),
        sa.Column("join_reason", sa.Text),
        sa.Column("silenced_by", sa.String(32)),
    )
    op.create_table(
        "incident_events",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
        sa.Column("at", _When, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("data_json", sa.Text, nullable=False),
    )
    op.create_table(
        "investigations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("not_before", _When, nullable=False),
        sa.Column("started_at", _When),
        sa.Column("finished_at", _When),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("reports_json", sa.Text),
        sa.Column("error", sa.Text),
    )
    op.create_table(
        "silences",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("matchers_json", sa.Text, nullable=False),
        sa.Column("starts_at", _When, nullable=False),
        sa.Column("ends_at", _When, nullable=False, index=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_at", _When, nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False, index=True),
        sa.Column("event_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("shown", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", _When, nullable=False),
        sa.Column("next_attempt_at", _When, nullable=False, index=True),
        sa.Column("sent_at", _When),
        sa.Column("folded_into", sa.BigInteger),
        sa.Column("error", sa.Text),
    )


def downgrade() -> None:
    for table in ("notifications", "silences", "investigations", "incident_events", "alerts", "incidents"):
        op.drop_table(table)
    op.drop_table("alert_deliveries")
