"""Engine, sessions and migrations. SQLite runs in WAL mode with writers serialised."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

READ_ONLY = "platekeeper_read_only"  # execution option: a transaction that will not write


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Enough pooled connections for the server's request threads: an overflow connection is closed on
        # return, and opening one (WAL, pragmas) costs more than the query it was opened for.
        in_memory = make_url(url).database in (None, "", ":memory:")  # one shared connection: no pool to size
        pool = {} if in_memory else {"pool_size": 20, "max_overflow": 40}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy issue BEGIN itself so we can make it IMMEDIATE below.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front: a read-then-write transaction (the
        # audit chain's append) cannot deadlock against another writer. A session opened
        # with ``reading`` only reads, so it takes no lock and never waits for a writer.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


@contextmanager
def reading(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that only reads. On SQLite it does not queue behind the writer (WAL readers see the last
    commit); writing in it is a bug, and SQLite refuses it with "database is locked" under contention."""
    with factory(execution_options={READ_ONLY: True}) as session:
        yield session


def _alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("platekeeper.store").joinpath("migrations")))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(_alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)
