"""Read-side queries for the administration pages (ACC-1..5): user overview, sign-in log, access review.

The changes themselves go through ``services.access``, ``services.users`` and
``services.api_keys``; this module only reads, and records that the sign-in log
and the access review were looked at (they show who did what, from where).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from platekeeper.policy.access import TrainingStatus
from platekeeper.policy.profile import PolicyProfile
from platekeeper.services import access, audit
from platekeeper.store.models import AuditEvent, Camera, User, utcnow

# ---- users ---------------------------------------------------------------------------------------------------------
# Filter key -> (label, the status_of prefix it selects)
USER_FILTERS: dict[str, tuple[str, str]] = {
    "awaiting": ("Awaiting approval", "awaiting approval"),
    "training": ("Needs training", "needs training"),
    "disabled": ("Disabled", "disabled"),
    "locked": ("Locked", "locked"),
}

TOPIC_LABELS: dict[str, str] = {
    "legal_authorities": "Legal authorities (laws that govern ALPR use)",
    "usage_protocol": "Usage protocol (the agency's ALPR policy)",
    "security_measures": "Security measures (passwords, devices, reporting)",
    "practical_exercise": "Practical exercise (hands-on use of the system)",
}


def topic_label(topic: str) -> str:
    return TOPIC_LABELS.get(topic, topic.replace("_", " ").capitalize())


@dataclass(frozen=True)
class UserRow:
    user: User
    role_label: str
    status: str
    training: TrainingStatus
    last_used: dt.datetime | None

    @property
    def status_key(self) -> str:
        return status_key(self.status)


def status_key(status: str) -> str:
    """One word for a status (for the badge's style): awaiting, training, disabled, locked, idle, active."""
    for key, (_, prefix) in USER_FILTERS.items():
        if status.startswith(prefix):
            return key
    return status.split(" ")[0]


def role_label(profile: PolicyProfile, role: str) -> str:
    found = profile.role(role)
    return found.label if found else f"{role} (not in this profile)"


def user_rows(session: Session, profile: PolicyProfile) -> list[UserRow]:
    """Every account with its status, training and last use, by username."""
    now = utcnow()
    users = session.scalars(select(User).order_by(User.username).options(selectinload(User.trainings)))
    return [
        UserRow(
            user=u,
            role_label=role_label(profile, u.role),
            status=access.status_of(profile, u, now),
            training=access.training_of(profile, u),
            last_used=u.last_seen_at or u.last_login_at,
        )
        for u in users
    ]


def filter_rows(rows: Sequence[UserRow], show: str | None) -> list[UserRow]:
    if not show or show not in USER_FILTERS:
        return list(rows)
    prefix = USER_FILTERS[show][1]
    return [r for r in rows if r.status.startswith(prefix)]


def filter_counts(rows: Sequence[UserRow]) -> dict[str, int]:
    return {key: sum(1 for r in rows if r.status.startswith(prefix)) for key, (_, prefix) in USER_FILTERS.items()}


def awaiting_approval(session: Session, profile: PolicyProfile) -> list[UserRow]:
    """Enabled accounts whose training is current and that no supervisor has approved yet."""
    return [r for r in user_rows(session, profile) if r.status == "awaiting approval"]


def cameras(session: Session) -> list[Camera]:
    return list(session.scalars(select(Camera).order_by(Camera.key)))


# ---- the sign-in log (ACC-3) ----------------------------------------------------------------------------------
SIGN_IN_EVENTS = ("auth.login", "auth.login_failed", "auth.lockout", "auth.second_factor_enrolled")
_OUTCOME_LABELS = {
    "auth.login": "signed in",
    "auth.login_failed": "failed",
    "auth.lockout": "account locked",
    "auth.second_factor_enrolled": "second factor set up",
}


@dataclass(frozen=True)
class SignInEntry:
    seq: int
    occurred_at: dt.datetime
    username: str
    outcome: str
    failure: bool
    reason: str
    source_ip: str | None


@dataclass(frozen=True)
class SignInPage:
    entries: list[SignInEntry]
    next_before: int | None  # the ``before`` of the next (older) page, or None at the end


def _entry(row: AuditEvent) -> SignInEntry:
    details = row.details or {}
    if row.event_type == "auth.login":
        reason = "with second factor" if details.get("second_factor") else "password only"
    elif row.event_type == "auth.lockout":
        reason = f"{details.get('threshold', '?')} failed sign-ins in a row"
    else:
        reason = str(details.get("reason") or "")
    return SignInEntry(
        seq=row.seq,
        occurred_at=row.occurred_at,
        username=row.actor_name or "",
        outcome=_OUTCOME_LABELS[row.event_type],
        failure=row.outcome != "allowed",
        reason=reason,
        source_ip=row.source_ip,
    )


def sign_in_log(
    session: Session,
    actor: audit.Actor,
    *,
    username: str | None = None,
    failures_only: bool = False,
    before: int | None = None,
    limit: int = 50,
) -> SignInPage:
    """Sign-ins, failures and lockouts from the audit trail, newest first; the look itself is audited."""
    query = select(AuditEvent).where(AuditEvent.event_type.in_(SIGN_IN_EVENTS))
    name = (username or "").strip().lower()
    if name:
        query = query.where(AuditEvent.actor_name == name)
    if failures_only:
        query = query.where(AuditEvent.outcome != "allowed")
    if before is not None:
        query = query.where(AuditEvent.seq < before)
    rows = list(session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    audit.record(
        session,
        audit.Event(
            "logins.view",
            actor,
            details={"user": name or None, "failures_only": failures_only, "before": before, "shown": len(rows)},
        ),
    )
    return SignInPage([_entry(r) for r in rows], rows[-1].seq if more and rows else None)


# ---- the access review ------------------------------------------------------------------------------------------
REVIEW_COLUMNS = (
    "username",
    "name",
    "role",
    "unit",
    "badge",
    "status",
    "training",
    "approved_by",
    "last_sign_in",
    "last_used",
    "idle_days",
)


def access_review(session: Session, profile: PolicyProfile, actor: audit.Actor, fmt: str) -> list[access.ReviewRow]:
    rows = access.access_review(session, profile)
    audit.record(session, audit.Event("access_review.view", actor, details={"format": fmt, "rows": len(rows)}))
    return rows


def access_review_csv(rows: Sequence[access.ReviewRow], zone: ZoneInfo) -> str:
    def local(value: dt.datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REVIEW_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                _cell(r.username),
                _cell(r.display_name),
                _cell(r.role),
                _cell(r.unit or ""),
                _cell(r.badge_number or ""),
                _cell(r.status),
                _cell(r.training),
                _cell(r.approved_by or ""),
                local(r.last_login_at),
                local(r.last_seen_at),
                "" if r.idle_days is None else r.idle_days,
            ]
        )
    return buffer.getvalue()


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas in text a user typed (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
