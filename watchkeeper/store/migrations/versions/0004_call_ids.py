"""call ids: a non-safe call's intent row and outcome row share one

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tool_calls", sa.Column("call_id", sa.String(32), nullable=True))
    op.create_index("ix_tool_calls_call_id", "tool_calls", ["call_id"])


def downgrade() -> None:
    op.drop_index("ix_tool_calls_call_id", "tool_calls")
    op.drop_column("tool_calls", "call_id")
