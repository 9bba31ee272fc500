"""The in-memory hot-list index of this process, kept current by the hot-list version.

Each process (the server, a CLI ingest) holds one index per database. Before matching, the
caller's transaction reads the version row; when it moved, only entries changed since the
index's version are re-read (the same delta edge units fetch). Expiry and list deactivation are
not in the index: every hit is checked against the database before it alerts.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from platekeeper.policy.hotlist_matching import HotListIndex
from platekeeper.services.hotlists import current_version
from platekeeper.store.hotlist_models import HotListEntry

BATCH = 50_000


@dataclass
class _Holder:
    lock: threading.Lock = field(default_factory=threading.Lock)
    index: HotListIndex | None = None


_holders: weakref.WeakKeyDictionary[Engine, _Holder] = weakref.WeakKeyDictionary()
_holders_lock = threading.Lock()


def _holder(engine: Engine) -> _Holder:
    with _holders_lock:
        holder = _holders.get(engine)
        if holder is None:
            holder = _holders[engine] = _Holder()
        return holder


def _apply_changes(session: Session, index: HotListIndex, since: int, active_only: bool) -> None:
    """Entries with ``change_seq > since``, in id batches: active ones in, others out."""
    last_id = 0
    while True:
        query = select(HotListEntry.id, HotListEntry.plate, HotListEntry.status).where(
            HotListEntry.change_seq > since, HotListEntry.id > last_id
        )
        if active_only:
            query = query.where(HotListEntry.status == "active")
        rows = session.execute(query.order_by(HotListEntry.id).limit(BATCH)).all()
        if not rows:
            return
        for entry_id, plate, status in rows:
            if status == "active":
                index.put(entry_id, plate)
            else:
                index.discard(entry_id)
        last_id = rows[-1][0]


def current_index(session: Session) -> HotListIndex:
    """This process's index for the session's database, brought up to the committed version."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    holder = _holder(engine)
    version = current_version(session)
    with holder.lock:
        if holder.index is None:
            index = HotListIndex()
            _apply_changes(session, index, 0, active_only=True)
            index.version = version
            holder.index = index
        elif version > holder.index.version:
            _apply_changes(session, holder.index, holder.index.version, active_only=False)
            holder.index.version = version
        return holder.index


def forget(engine: Engine) -> None:
    """Drop the index (tests, or after restoring a backup under a running process)."""
    with _holders_lock:
        _holders.pop(engine, None)
