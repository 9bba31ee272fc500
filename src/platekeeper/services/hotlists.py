"""Department hot lists: entries with purpose and case (HOT-1), lieutenant approval (HOT-2), owner,
review, expiry and recorded removal (HOT-3), partial plates for major crimes (USE-4).

Every change bumps the hot-list version (one locked row), which is how matchers in every process and
edge units in patrol cars learn what changed. Refusals are audited in a transaction of their own after
the refused one rolled back: nothing changes, the attempt is on record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from platekeeper.policy import hotlist_rules as rules
from platekeeper.policy.hotlist_matching import BadPlate, check_entry_plate, is_wildcard
from platekeeper.policy.purposes import PurposeStatement
from platekeeper.services import audit
from platekeeper.services.purposes import require_purpose
from platekeeper.store.db import transaction
from platekeeper.store.hotlist_models import HotList, HotListEntry, HotListVersion
from platekeeper.store.models import User, utcnow
from platekeeper.system import System

LIST_KINDS = ("department", "external")
CATEGORIES = ("department", "stolen_vehicle", "ncic", "clets", "bolo")
ALERT_TYPES = ("vehicle", "wanted_person")


class HotListRefused(ValueError):
    """Refused by a rule; the refusal is already audited."""


@dataclass(frozen=True)
class Member:
    """The signed-in user acting on hot lists, with the permissions their role holds."""

    user_id: int
    actor: audit.Actor
    permissions: frozenset[str]


@dataclass(frozen=True)
class EntryInput:
    plate: str
    synopsis: str
    purpose: PurposeStatement
    case_numbers: list[str] = field(default_factory=list)
    alert_type: str = "vehicle"
    person_description: str | None = None
    vehicle_description: str | None = None
    state: str | None = None
    major_crime: bool = False
    owner: str | None = None  # username; the entering member when blank
    review_on: dt.date | None = None
    expires_at: dt.datetime | None = None


def bump_version(session: Session) -> int:
    """The next hot-list version; the row lock orders concurrent writers so no change is skipped."""
    row = session.scalars(select(HotListVersion).where(HotListVersion.id == 1).with_for_update()).one()
    row.version += 1
    session.flush()
    return row.version


def current_version(session: Session) -> int:
    return int(session.scalar(select(HotListVersion.version).where(HotListVersion.id == 1)) or 0)


@contextmanager
def refusals(system: System, actor: audit.Actor, target: str) -> Iterator[None]:
    """Turn a broken rule into an audited ``HotListRefused`` once the caller's transaction rolled back."""
    try:
        yield
    except (rules.RuleBroken, BadPlate, LookupError) as exc:
        reason = str(exc).strip("'\"")
        audit.record_alone(
            system.sessions,
            audit.Event("hotlist.refused", actor, outcome="refused", target=target, details={"reason": reason}),
        )
        raise HotListRefused(reason) from exc


def get_list(session: Session, key: str) -> HotList:
    found = session.scalar(select(HotList).where(HotList.key == key))
    if found is None:
        raise LookupError(f"no hot list {key!r}")
    return found


def create_list(
    session: Session,
    actor: audit.Actor,
    *,
    key: str,
    name: str,
    kind: str = "department",
    category: str = "department",
) -> HotList:
    if kind not in LIST_KINDS or category not in CATEGORIES:
        raise ValueError(f"kind must be one of {LIST_KINDS}, category one of {CATEGORIES}")
    if session.scalar(select(HotList.id).where(HotList.key == key)) is not None:
        raise ValueError(f"a hot list {key!r} exists already")
    hot_list = HotList(key=key, name=name, kind=kind, category=category, created_by=actor.name or actor.type)
    session.add(hot_list)
    session.flush()
    audit.record(session, audit.Event("hotlist.create", actor, target=f"hotlist:{key}", details={"kind": kind}))
    return hot_list


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise LookupError(f"no user {user_id}")
    return user


def _owner(session: Session, member_user: User, username: str | None) -> User:
    if not username:
        return member_user
    owner = session.scalar(select(User).where(User.username == username.strip().lower()))
    if owner is None or not owner.active:
        raise LookupError(f"no active user {username!r} to own the entry (HOT-3)")
    return owner


def _dates(data: EntryInput, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    expires = data.expires_at or now + dt.timedelta(days=rules.DEFAULT_EXPIRY_DAYS)
    review = data.review_on or min(expires.date(), (now + dt.timedelta(days=rules.DEFAULT_REVIEW_DAYS)).date())
    rules.check_dates(now, review, expires)
    return review, expires


def _new_entry(session: Session, member: Member, hot_list: HotList, data: EntryInput) -> HotListEntry:
    if hot_list.kind != "department":
        raise rules.RuleBroken(f"{hot_list.name} is an external list: its entries come from its source (HOT-4)")
    if data.alert_type not in ALERT_TYPES:
        raise rules.RuleBroken(f"alert type must be one of {', '.join(ALERT_TYPES)}")
    if data.alert_type == "wanted_person" and not (data.person_description or "").strip():
        raise rules.RuleBroken("a wanted-person entry needs the person's description, for the officer (HOT-5)")
    author = _user(session, member.user_id)
    rules.check_author(rules.EntryAuthor(author.id, author.display_name, author.badge_number, author.unit))
    cases = [c.strip() for c in data.case_numbers if c.strip()]
    if data.purpose.case_number and data.purpose.case_number not in cases:
        cases.insert(0, data.purpose.case_number)
    rules.check_entry_text(data.synopsis, cases, data.purpose.no_case_reason)
    plate = check_entry_plate(data.plate, major_crime=data.major_crime)
    owner = _owner(session, author, data.owner)
    review_on, expires_at = _dates(data, utcnow())
    return HotListEntry(
        list_id=hot_list.id,
        plate=plate,
        wildcard=is_wildcard(plate),
        state=(data.state or "").strip().upper() or None,
        status="pending",
        alert_type=data.alert_type,
        reason=data.synopsis.strip(),
        person_description=(data.person_description or "").strip() or None,
        vehicle_description=(data.vehicle_description or "").strip() or None,
        case_numbers=cases,
        purpose=data.purpose.purpose,
        no_case_reason=data.purpose.no_case_reason,
        presumed_crime=data.purpose.presumed_crime,
        major_crime=data.major_crime,
        entered_by_id=author.id,
        entered_by_name=author.display_name,
        entered_by_badge=author.badge_number,
        entered_by_assignment=author.unit,
        owner_id=owner.id,
        owner_name=owner.display_name,
        review_on=review_on,
        expires_at=expires_at,
    )


def enter_plate(system: System, member: Member, list_key: str, data: EntryInput) -> HotListEntry:
    """A pending entry on a department list; it alerts only once a lieutenant approves it (HOT-2)."""
    require_purpose(
        system.sessions,
        system.profile,
        member.actor,
        data.purpose,
        action="hotlist.entry_create",
        criteria={"list": list_key, "plate": data.plate},
    )
    with refusals(system, member.actor, f"hotlist:{list_key}"), transaction(system.sessions) as session:
        hot_list = get_list(session, list_key)
        entry = _new_entry(session, member, hot_list, data)
        entry.change_seq = bump_version(session)
        session.add(entry)
        session.flush()
        details = {
            **data.purpose.audit_details(),
            "plate": entry.plate,
            "wildcard": entry.wildcard,
            "major_crime": entry.major_crime,
            "case_numbers": entry.case_numbers,
            "synopsis": entry.reason,
            "owner": entry.owner_name,
            "review_on": entry.review_on,
            "expires_at": entry.expires_at,
        }
        audit.record(session, audit.Event("hotlist.entry_create", member.actor, target=_target(entry), details=details))
        return entry


def _target(entry: HotListEntry) -> str:
    return f"hotlist_entry:{entry.id}"


def _entry(session: Session, entry_id: int) -> HotListEntry:
    entry = session.get(HotListEntry, entry_id)
    if entry is None:
        raise LookupError(f"no hot-list entry {entry_id}")
    return entry


def approve(system: System, member: Member, entry_id: int) -> HotListEntry:
    """HOT-2: a lieutenant other than the author activates a pending entry."""
    with refusals(system, member.actor, f"hotlist_entry:{entry_id}"), transaction(system.sessions) as session:
        entry = _entry(session, entry_id)
        if entry.status != "pending":
            raise rules.RuleBroken(f"entry {entry_id} is {entry.status}, not pending approval")
        rules.check_approver(member.user_id, member.permissions, entry.entered_by_id)
        approver = _user(session, member.user_id)
        entry.status, entry.approved_at = "active", utcnow()
        entry.approved_by_id, entry.approved_by_name = approver.id, approver.display_name
        entry.change_seq = bump_version(session)
        audit.record(
            session,
            audit.Event("hotlist.entry_approve", member.actor, target=_target(entry), details={"plate": entry.plate}),
        )
        return entry


def reject(system: System, member: Member, entry_id: int, reason: str) -> HotListEntry:
    with refusals(system, member.actor, f"hotlist_entry:{entry_id}"), transaction(system.sessions) as session:
        entry = _entry(session, entry_id)
        if entry.status != "pending":
            raise rules.RuleBroken(f"entry {entry_id} is {entry.status}, not pending approval")
        rules.check_approver(member.user_id, member.permissions, entry.entered_by_id)
        entry.status, entry.removal_reason = "rejected", reason.strip() or "rejected"
        entry.removed_at, entry.removed_by = utcnow(), member.actor.name
        entry.change_seq = bump_version(session)
        audit.record(
            session,
            audit.Event("hotlist.entry_reject", member.actor, target=_target(entry), details={"reason": reason}),
        )
        return entry


def remove(system: System, actor: audit.Actor, entry_id: int, reason: str) -> HotListEntry:
    """HOT-3: removal is recorded (who, when, why); the row stays for the record."""
    with refusals(system, actor, f"hotlist_entry:{entry_id}"), transaction(system.sessions) as session:
        entry = _entry(session, entry_id)
        if entry.status in {"removed", "rejected"}:
            raise rules.RuleBroken(f"entry {entry_id} is already {entry.status}")
        if not reason.strip():
            raise rules.RuleBroken("say why the entry is removed (HOT-3)")
        _mark_removed(session, entry, actor.name or actor.type, reason.strip())
        audit.record(
            session,
            audit.Event(
                "hotlist.entry_remove", actor, target=_target(entry), details={"plate": entry.plate, "reason": reason}
            ),
        )
        return entry


def _mark_removed(session: Session, entry: HotListEntry, by: str, reason: str) -> None:
    entry.status, entry.removed_at, entry.removed_by, entry.removal_reason = "removed", utcnow(), by, reason
    entry.change_seq = bump_version(session)


def extend(
    system: System, actor: audit.Actor, entry_id: int, review_on: dt.date, expires_at: dt.datetime
) -> HotListEntry:
    """The owner confirms the entry is still needed: new review and expiry dates (HOT-3)."""
    with refusals(system, actor, f"hotlist_entry:{entry_id}"), transaction(system.sessions) as session:
        entry = _entry(session, entry_id)
        if entry.status not in {"active", "pending"}:
            raise rules.RuleBroken(f"entry {entry_id} is {entry.status}; enter it again instead")
        rules.check_dates(utcnow(), review_on, expires_at)
        entry.review_on, entry.expires_at, entry.reminder_sent_at = review_on, expires_at, None
        entry.change_seq = bump_version(session)
        details = {"review_on": review_on, "expires_at": expires_at}
        audit.record(session, audit.Event("hotlist.entry_review", actor, target=_target(entry), details=details))
        return entry


@dataclass(frozen=True)
class SweepResult:
    reminded: list[int]
    expired: list[int]


def sweep(system: System, now: dt.datetime | None = None) -> SweepResult:
    """Daily: remind owners of entries due for review or about to expire, remove expired ones (HOT-3).

    Expired entries never alert whether or not this ran (the matcher checks expiry itself); the sweep
    makes the removal a matter of record.
    """
    now = now or utcnow()
    actor = audit.Actor.system("hot-list review")
    reminded: list[int] = []
    expired: list[int] = []
    with transaction(system.sessions) as session:
        rows = session.scalars(
            select(HotListEntry).join(HotList).where(HotList.kind == "department", HotListEntry.status == "active")
        ).all()
        for entry in rows:
            if entry.expires_at is not None and entry.expires_at <= now:
                _mark_removed(session, entry, actor.name or "system", f"expired {entry.expires_at.isoformat()}")
                audit.record(session, audit.Event("hotlist.entry_remove", actor, target=_target(entry)))
                expired.append(entry.id)
            elif entry.reminder_sent_at is None and rules.reminder_due(entry.review_on, entry.expires_at, now):
                entry.reminder_sent_at = now
                details = {"owner": entry.owner_name, "review_on": entry.review_on, "expires_at": entry.expires_at}
                audit.record(
                    session, audit.Event("hotlist.entry_reminder", actor, target=_target(entry), details=details)
                )
                reminded.append(entry.id)
    return SweepResult(reminded=reminded, expired=expired)


def lists(session: Session) -> Sequence[HotList]:
    return session.scalars(select(HotList).order_by(HotList.kind, HotList.name)).all()


def counts(session: Session) -> dict[int, dict[str, int]]:
    """Entries per list and status, for the overview."""
    rows = session.execute(
        select(HotListEntry.list_id, HotListEntry.status, func.count()).group_by(
            HotListEntry.list_id, HotListEntry.status
        )
    ).all()
    out: dict[int, dict[str, int]] = {}
    for list_id, status, n in rows:
        out.setdefault(list_id, {})[status] = n
    return out


def entries(
    session: Session, actor: audit.Actor, hot_list: HotList, *, status: str | None = None, limit: int = 200
) -> Sequence[HotListEntry]:
    """A list's entries, newest first; audited (the plates shown are recorded)."""
    query = select(HotListEntry).where(HotListEntry.list_id == hot_list.id)
    if status:
        query = query.where(HotListEntry.status == status)
    found = session.scalars(query.order_by(HotListEntry.id.desc()).limit(limit)).all()
    details = {"status": status, "plates": [e.plate for e in found]}
    audit.record(session, audit.Event("hotlist.view", actor, target=f"hotlist:{hot_list.key}", details=details))
    return found


def pending_for(session: Session, member: Member) -> Sequence[HotListEntry]:
    """Entries awaiting approval that this member may approve (not their own)."""
    if "hotlists.approve" not in member.permissions:
        return []
    return session.scalars(
        select(HotListEntry)
        .where(HotListEntry.status == "pending", HotListEntry.entered_by_id != member.user_id)
        .order_by(HotListEntry.id)
    ).all()


def get_list_by_id(session: Session, list_id: int) -> HotList:
    found = session.get(HotList, list_id)
    if found is None:
        raise LookupError(f"no hot list {list_id}")
    return found
