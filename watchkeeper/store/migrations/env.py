"""Alembic environment: always run with a connection handed in by watchkeeper.store.db.migrate."""

from alembic import context

from watchkeeper.store.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata)
with context.begin_transaction():
    context.run_migrations()
