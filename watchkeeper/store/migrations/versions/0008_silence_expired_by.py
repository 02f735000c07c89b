"""silences: who ended one early, and when

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("silences") as batch:
        batch.add_column(sa.Column("expired_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("silences") as batch:
        batch.drop_column("expired_at")
        batch.drop_column("expired_by")
