"""Persistence: SQLAlchemy models, Alembic migrations, repositories, the encrypted image store."""
