"""audit ledger: tool_calls and its MAC'd head

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "tool_calls",
        sa.Column("id", _BigId, primary_key=True, autoincrement=False),
        sa.Column("session_id", sa.String(64), index=True),
        sa.Column("tool_name", sa.String(200), nullable=False, index=True),
        sa.Column("args_json", sa.Text, nullable=False),
        sa.Column("result_json", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("edge_id", sa.String(200)),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Float, nullable=False),
        sa.Column("caller_user_id", sa.String(200)),
        sa.Column("caller_role", sa.String(32), nullable=False),
        sa.Column("approved_by", sa.String(200)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("row_hash", sa.String(64), nullable=False),
    )
    head = op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("last_id", _BigId, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("mac", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "last_id": 0, "last_hash": GENESIS, "mac": ""}])


def downgrade() -> None:
    op.drop_table("ledger_head")
    op.drop_table("tool_calls")
