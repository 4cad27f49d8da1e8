"""The records database: the store, the intake, the work queues, tokens and the audit, the one
write path, and the Alembic migrations.
"""
