"""Alembic's environment: migrations run on the connection the migrations package hands
over.

`upgrade` (linkage.records.migrations) opens the transaction and takes the lock itself, so that
checking the revision, adopting an old database and upgrading it are one step no other process
sees half done. Used by hand, to write a new revision from the models, it connects to the URL
set:

    config = linkage.records.migrations.alembic_config()
    config.set_main_option("sqlalchemy.url", "sqlite:///.linkage/records.db")
    alembic.command.revision(config, "what it adds", rev_id="0003", autogenerate=True)
"""

from alembic import context
from sqlmodel import SQLModel

config = context.config
connection = config.attributes.get("connection")


def run(connection) -> None:
    import linkage.records.store  # noqa: F401  (the models, for autogenerate)

    context.configure(connection=connection, target_metadata=SQLModel.metadata)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    from linkage.records.engine import make_engine

    with make_engine(config.get_main_option("sqlalchemy.url")).begin() as own:
        run(own)
