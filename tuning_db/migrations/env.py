"""Alembic environment: migrations run on the connection ``tuning_db.migrate`` hands over.

There is no alembic.ini; the configuration is built in code (``tuning_db.migrate.alembic_config``).
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=None,
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table when needed
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
