"""Alembic's environment: migrations run on the connection linkage.migrations hands over.

linkage.migrations.upgrade opens the transaction (and takes the lock) itself, so that checking
the revision, adopting an old database and upgrading it are one step no other process sees
half done. Run by hand (alembic with `-x url=…`), it connects to that URL instead.
"""

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

config = context.config
connection = config.attributes.get("connection")


def run(connection) -> None:
    import linkage.store  # noqa: F401  (the models, for autogenerate)

    context.configure(connection=connection, target_metadata=SQLModel.metadata)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    with create_engine(url).begin() as own:
        run(own)
