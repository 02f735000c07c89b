"""the event bus: events (the outbox), durable consumers, their pending deliveries, dead letters

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bus_events",
        sa.Column("seq", _BigId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(200), nullable=False, unique=True),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("data_json", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )
    op.create_table(
        "bus_consumers",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("filter_subject", sa.String(255), nullable=False),
        sa.Column("ack_wait_s", sa.Float, nullable=False),
        sa.Column("max_deliver", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "bus_pending",
        sa.Column(
            "consumer", sa.String(100), sa.ForeignKey("bus_consumers.name", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("event_seq", _BigId, sa.ForeignKey("bus_events.seq", ondelete="CASCADE"), primary_key=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("deliver_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text),
    )
    op.create_table(
        "bus_dead_letters",
        sa.Column("id", _BigId, primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(100), nullable=False, index=True),
        sa.Column("event_seq", _BigId, sa.ForeignKey("bus_events.seq"), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("bus_dead_letters")
    op.drop_table("bus_pending")
    op.drop_table("bus_consumers")
    op.drop_table("bus_events")
