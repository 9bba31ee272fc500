"""Alembic environment: runs on the engine the application hands over.

On SQLite, batch migrations rebuild tables (copy, drop, rename). With foreign keys
enforced, dropping the old table would cascade-delete or refuse its dependants, so
enforcement is off while migrating and every key is checked afterwards.
"""

from alembic import context

from platekeeper.store import hotlist_models  # noqa: F401  (issue 6: registers the hot-list tables)
from platekeeper.store.models import Base

engine = context.config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"
with engine.connect() as connection:
    if sqlite:
        # Must run outside a transaction, on the raw connection, before SQLAlchemy begins one.
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    with connection.begin():
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
    if sqlite:
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")
