"""The audit trail: one registered type per kind of access, appended to a hash chain.

Each row's hash covers its own fields and the previous row's hash, and rows are
numbered without gaps, so an edited, removed or reordered row breaks
``verify``. The chain head row catches removal of the newest rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from platekeeper.store.db import transaction
from platekeeper.store.models import AuditChainHead, AuditEvent, utcnow

GENESIS_HASH = "0" * 64

# One documented type per kind of access; recording an unregistered type is a bug.
EVENT_TYPES: dict[str, str] = {
    "auth.login": "a user signed in",
    "auth.login_failed": "a sign-in was refused (wrong password, unknown or inactive user)",
    "auth.logout": "a user signed out",
    "access.refused": "a request was refused for lack of permission",
    "reads.list": "a user listed reads (the plates, times and places shown)",
    "read.view": "a user opened one read",
    "image.view": "a user viewed a read's frame or plate crop",
    "read.ingest": "a camera, edge unit or operator stored new reads",
    "read.ingest_refused": "a submission of reads was refused (bad key, camera not live, bad input)",
    "camera.create": "an administrator added a camera",
    "camera.update": "an administrator changed a camera (masks, location)",
    "camera.attest": "a camera's public-view attestation was recorded",
    "camera.api_key": "a camera API key was issued (the key itself is never recorded)",
    "camera.gps_import": "a mobile camera's GPS track was imported",
    "user.create": "a user account was created",
    "system.demo": "the demo set up an embedded system",
}


@dataclass(frozen=True)
class Actor:
    """Who did it and from where."""

    type: str  # user | camera | system | anonymous
    id: str | None = None
    name: str | None = None
    role: str | None = None
    agency: str | None = None
    unit: str | None = None
    source_ip: str | None = None

    @classmethod
    def system(cls, name: str = "platekeeper") -> Actor:
        return cls(type="system", name=name)


@dataclass(frozen=True)
class Event:
    type: str
    actor: Actor
    outcome: str = "allowed"  # allowed | refused | failed
    target: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unregistered audit event type {self.type!r}")
        if self.outcome not in {"allowed", "refused", "failed"}:
            raise ValueError(f"bad audit outcome {self.outcome!r}")


def _row_hash(row: AuditEvent) -> str:
    body = {
        "seq": row.seq,
        "occurred_at": row.occurred_at.astimezone(dt.UTC).isoformat(),
        "event_type": row.event_type,
        "outcome": row.outcome,
        "actor_type": row.actor_type,
        "actor_id": row.actor_id,
        "actor_name": row.actor_name,
        "actor_role": row.actor_role,
        "agency": row.agency,
        "unit": row.unit,
        "source_ip": row.source_ip,
        "target": row.target,
        "details": row.details,
        "prev_hash": row.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(session: Session, event: Event) -> AuditEvent:
    """Append inside the caller's transaction, so the action and its record commit together."""
    head = session.scalars(select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()).one()
    actor = event.actor
    row = AuditEvent(
        seq=head.last_seq + 1,
        occurred_at=utcnow(),
        event_type=event.type,
        outcome=event.outcome,
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        actor_role=actor.role,
        agency=actor.agency,
        unit=actor.unit,
        source_ip=actor.source_ip,
        target=event.target,
        details=json.loads(json.dumps(event.details, default=str)),  # exactly what the database will return
        prev_hash=head.last_hash,
    )
    row.hash = _row_hash(row)
    session.add(row)
    head.last_seq, head.last_hash = row.seq, row.hash
    session.flush()
    return row


def record_alone(sessions: sessionmaker[Session], event: Event) -> None:
    """Append in a transaction of its own: for refusals, where the action itself is rolled back."""
    with transaction(sessions) as session:
        record(session, event)


@dataclass(frozen=True)
class VerifyResult:
    rows: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        chunk = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].seq
        session.expunge_all()


def verify(sessions: sessionmaker[Session], max_problems: int = 50) -> VerifyResult:
    problems: list[str] = []
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    with sessions() as session:
        for row in _rows(session):
            count += 1
            if row.seq != expected_seq:
                problems.append(f"rows {expected_seq}..{row.seq - 1} are missing")
            if row.prev_hash != prev_hash:
                problems.append(f"row {row.seq}: does not follow the row before it (chain broken)")
            if _row_hash(row) != row.hash:
                problems.append(f"row {row.seq}: contents do not match its hash (row altered)")
            expected_seq, prev_hash = row.seq + 1, row.hash
            if len(problems) >= max_problems:
                break
        head = session.get(AuditChainHead, 1)
        if head is None:
            problems.append("the chain head record is missing")
        elif len(problems) < max_problems and (head.last_seq != expected_seq - 1 or head.last_hash != prev_hash):
            problems.append(
                f"the newest rows are missing: chain head is at row {head.last_seq}, table ends at {expected_seq - 1}"
            )
    return VerifyResult(rows=count, problems=tuple(problems))
