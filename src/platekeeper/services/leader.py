"""Which server process does the background duties (scheduled hot-list syncs, the review sweep).

Several server workers may share one database; the duties must run in one of them. The lease is a lock
the operating system or the database releases when its holder dies, so another worker takes over:
on PostgreSQL a session advisory lock (works across machines), on SQLite a file lock in the data
directory (the workers share that directory anyway).
"""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path
from typing import Any

from sqlalchemy import text

from platekeeper.system import System

ADVISORY_KEY = 0x706B_6C65_6164  # "pkload": the background-duties lease
POSTGRES_LEASE = "postgresql advisory lock"


class Lease:
    """Held until ``release`` (or the process ends)."""

    def __init__(self, holder: Any, kind: str) -> None:
        self._holder, self.kind = holder, kind

    def release(self) -> None:
        with contextlib.suppress(Exception):
            if self.kind == POSTGRES_LEASE:  # a pooled connection outlives close(): unlock explicitly
                self._holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                self._holder.commit()
            self._holder.close()  # closing the file releases the flock


def try_acquire(system: System) -> Lease | None:
    """The lease if no other live process holds it, else None (try again later)."""
    if system.engine.dialect.name == "postgresql":
        conn = system.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_KEY}).scalar()
        conn.commit()  # the session lock outlives the transaction; the connection holds it
        if got:
            return Lease(conn, POSTGRES_LEASE)
        conn.close()
        return None
    path = Path(system.settings.data_dir) / "background-duties.lock"
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return Lease(handle, f"file lock {path}")
