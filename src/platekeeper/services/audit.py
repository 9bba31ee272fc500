"""The audit trail: one registered type per kind of access, appended to a hash chain.

Each row's hash covers its own fields and the previous row's hash, and rows are
numbered without gaps, so an edited, removed or reordered row breaks
``verify``. The chain head row catches removal of the newest rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
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
    "camera.gps_import": "a mobile camera's GPS track was imported",
    "system.demo": "the demo set up an embedded system",
    # --- purpose limitation (USE-1, USE-2) ---
    "purpose.refused": "a search, export, share or hot-list entry was refused: purpose missing, unknown or prohibited",
    # --- accounts, sign-in and administration (ACC-1..5) ---
    "user.create": "a user account was created",
    "user.update": "an administrator changed a user's role, unit, badge or name",
    "user.training": "a training record was entered for a user",
    "user.approve": "a supervisor approved a user's account for activation",
    "user.approve_refused": "an approval was refused (self-approval, no training, not a supervisor)",
    "user.disable": "an account was disabled (by an administrator, or for idleness)",
    "user.enable": "a disabled account was enabled again",
    "user.unlock": "an administrator lifted a lockout",
    "user.password": "a user's password was set or changed",
    "user.second_factor_reset": "an administrator reset a user's second factor",
    "auth.second_factor_enrolled": "a user enrolled a TOTP second factor",
    "auth.lockout": "repeated failed sign-ins locked an account",
    "role.grant": "an administrator changed which permissions a role holds",
    "api_key.create": "an API key for a camera or edge unit was issued (the key itself is never recorded)",
    "api_key.revoke": "an API key was revoked",
    "logins.view": "an administrator or auditor viewed the sign-in log",
    "access_review.view": "the access review (who holds which role, last use) was viewed or exported",
    # --- audit review (AUD-3) ---
    "audit.view": "the audit trail was viewed or searched",
    "audit.sample": "an auditor drew a random sample of accesses",
    "audit.finding": "an auditor recorded a finding on a sampled access",
    "audit.signoff": "an auditor signed an audit sample off",
    "audit.export": "an audit report was exported (CSV or PDF)",
    # --- search and investigations (issue 5) ---
    "search.reads": "a user searched reads (plate exact, partial or fuzzy; time, cameras, area, colour): "
    "every criterion, the result count and the plates returned",
    "search.canvass": "a user canvassed a scene: every read within R metres and T minutes of a place and time",
    "search.export_csv": "a user exported search results as CSV (criteria, count and plates recorded)",
    "evidence.export": "a user exported reads to an evidence package (chain of custody kept; the reads are held)",
    "evidence.list": "a user viewed the chain-of-custody records of evidence exports",
    "locations.view": "the privacy officer queried read locations with plates withheld (REP-2)",
    # --- hot lists and alerts (issue 6) ---
    "hotlist.create": "an administrator created a hot list or changed an external list's source, mapping or schedule",
    "hotlist.view": "a user viewed a hot list's entries",
    "hotlist.entry_create": "a member entered a plate on a department hot list (HOT-1, with purpose and case)",
    "hotlist.entry_approve": "a lieutenant approved a hot-list entry, making it active (HOT-2)",
    "hotlist.entry_reject": "a lieutenant rejected a pending hot-list entry",
    "hotlist.entry_remove": "a hot-list entry was removed, with the reason (HOT-3)",
    "hotlist.entry_review": "a hot-list entry's review or expiry date was extended (HOT-3)",
    "hotlist.entry_reminder": "the owner of a hot-list entry was reminded that review or expiry is due (HOT-3)",
    "hotlist.refused": "a hot-list change was refused (self-approval, missing fields, partial plate not allowed)",
    "hotlist.sync": "an external hot list was synchronised (rows added, changed, removed)",
    "hotlist.sync_failed": "an external hot list failed to synchronise; the next attempt resynchronises fully",
    "hotlist.edge_sync": "an edge unit fetched the hot lists (full or delta since its version)",
    "alert.create": "a read matched an active hot-list entry and raised an alert",
    "alert.view": "a user viewed alerts (the live page, one alert, or the list)",
    "alert.verify": "an officer recorded a verification step on an alert (visual, CLETS, occupants) (HOT-5)",
    "alert.dispose": "an officer recorded the action taken or final disposition of an alert (HOT-5, HOT-6)",
    "alert.refused": "an alert step was refused (e.g. action before any verification attempt)",
    "alert.channel": "an administrator added or changed an alert channel (MQTT broker, webhook)",
    "alert.accuracy": "the field accuracy report (confirmed vs misread alerts) was viewed (CAP-5)",
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
    return record_many(session, [event])[0]


def record_many(session: Session, events: Sequence[Event]) -> list[AuditEvent]:
    """Append several events in order with one lock on the chain head and one flush (ingest batches)."""
    head = session.scalars(select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update()).one()
    rows = []
    for event in events:
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
        rows.append(row)
        head.last_seq, head.last_hash = row.seq, row.hash
    session.add_all(rows)
    session.flush()
    return rows


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
