"""Account administration: training records, approval, role grants, disable/enable, review (ACC-1..5).

Every change is audited in the same transaction. The rules themselves are in
``policy.access``; this module applies them to the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from platekeeper.policy import access
from platekeeper.policy.permissions import ALL_PERMISSIONS, grant_problem
from platekeeper.policy.profile import PolicyProfile
from platekeeper.services import audit
from platekeeper.store.models import RoleGrant, TrainingRecord, User, utcnow


class AccessError(ValueError):
    """A refused administrative change; the message says why."""


def role_overrides(session: Session, role: str) -> dict[str, bool]:
    return {g.permission: g.granted for g in session.scalars(select(RoleGrant).where(RoleGrant.role == role))}


def role_permissions(session: Session, profile: PolicyProfile, role: str) -> frozenset[str]:
    return access.effective_permissions(profile.role(role), role_overrides(session, role))


def permission_matrix(session: Session, profile: PolicyProfile) -> dict[str, frozenset[str]]:
    grants: dict[str, dict[str, bool]] = {}
    for grant in session.scalars(select(RoleGrant)):
        grants.setdefault(grant.role, {})[grant.permission] = grant.granted
    return {r.key: access.effective_permissions(r, grants.get(r.key, {})) for r in profile.roles}


def set_grant(
    session: Session, profile: PolicyProfile, actor: audit.Actor, role: str, permission: str, granted: bool
) -> None:
    """ACC-5: an administrator decides which class of user sees what; police data stays with police roles."""
    role_def = profile.role(role)
    if role_def is None:
        raise AccessError(f"unknown role {role!r}")
    if permission not in ALL_PERMISSIONS:
        raise AccessError(f"unknown permission {permission!r}")
    problem = grant_problem(permission, role_def.law_enforcement) if granted else None
    if problem:
        raise AccessError(problem)
    if not granted and permission == "users.manage" and _last_holder_of(session, profile, role, permission):
        raise AccessError("no other role holds 'users.manage': removing it would leave nobody to administer")
    row = session.scalar(select(RoleGrant).where(RoleGrant.role == role, RoleGrant.permission == permission))
    before = permission in role_permissions(session, profile, role)
    if row is None:
        row = RoleGrant(role=role, permission=permission, granted=granted, changed_by=actor.name or actor.type)
        session.add(row)
    else:
        row.granted, row.changed_by, row.changed_at = granted, actor.name or actor.type, utcnow()
    session.flush()
    audit.record(
        session,
        audit.Event(
            "role.grant",
            actor,
            target=f"role:{role}",
            details={"permission": permission, "granted": granted, "held_before": before},
        ),
    )


def _last_holder_of(session: Session, profile: PolicyProfile, role: str, permission: str) -> bool:
    matrix = permission_matrix(session, profile)
    return not any(permission in perms for key, perms in matrix.items() if key != role)


def get_user(session: Session, username: str) -> User:
    user = session.scalar(
        select(User).where(User.username == username.strip().lower()).options(selectinload(User.trainings))
    )
    if user is None:
        raise AccessError(f"no user {username!r}")
    return user


def training_of(profile: PolicyProfile, user: User, today: dt.date | None = None) -> access.TrainingStatus:
    records = [access.Training(tuple(r.topics), r.completed_on) for r in user.trainings]
    return access.training_status(profile, records, today or utcnow().date())


def account_state(profile: PolicyProfile, user: User) -> access.AccountState:
    return access.AccountState(
        active=user.active,
        approved=user.approved_at is not None,
        training=training_of(profile, user),
        locked_until=user.locked_until,
        last_activity=max(t for t in (user.last_login_at, user.approved_at, user.created_at) if t is not None),
    )


def record_training(
    session: Session,
    profile: PolicyProfile,
    actor: audit.Actor,
    user: User,
    *,
    topics: list[str],
    completed_on: dt.date,
    trainer: str,
    note: str | None = None,
) -> TrainingRecord:
    unknown = sorted(set(topics) - set(profile.training.topics))
    if unknown or not topics:
        raise AccessError(
            f"training topics must be among {', '.join(profile.training.topics)}; got {unknown or 'none'}"
        )
    if completed_on > utcnow().date():
        raise AccessError("the training date is in the future")
    if not trainer.strip():
        raise AccessError("name the trainer")
    record = TrainingRecord(
        user_id=user.id,
        topics=sorted(set(topics)),
        completed_on=completed_on,
        trainer=trainer.strip()[:200],
        note=(note or "").strip() or None,
        recorded_by=actor.name or actor.type,
    )
    session.add(record)
    session.flush()
    session.refresh(user, ["trainings"])
    audit.record(
        session,
        audit.Event(
            "user.training",
            actor,
            target=f"user:{user.username}",
            details={"topics": record.topics, "completed_on": completed_on.isoformat(), "trainer": record.trainer},
        ),
    )
    return record


def approve(
    session: Session,
    profile: PolicyProfile,
    actor: audit.Actor,
    user: User,
    *,
    approver: User | None,
    approver_permissions: frozenset[str] = frozenset(),
) -> None:
    """A supervisor other than the user approves; ``approver=None`` is the operator's CLI (bootstrap).

    Refusals are audited and raise ``AccessError``; the caller commits the audit
    record (the refusal changes nothing else).
    """
    problem = None
    if approver is not None:
        problem = access.approval_problem(approver.id, approver_permissions, user.id)
    training = training_of(profile, user)
    if problem is None and not training.current:
        problem = "record the user's training first: " + training.describe()
    if problem is None and user.approved_at is not None:
        problem = "the account is already approved"
    if problem:
        audit.record(
            session,
            audit.Event(
                "user.approve_refused",
                actor,
                outcome="refused",
                target=f"user:{user.username}",
                details={"reason": problem},
            ),
        )
        raise AccessError(problem)
    user.approved_at = utcnow()
    user.approved_by_id = approver.id if approver else None
    user.approved_by_name = approver.username if approver else (actor.name or actor.type)
    audit.record(session, audit.Event("user.approve", actor, target=f"user:{user.username}"))


def _last_active_administrator(session: Session, profile: PolicyProfile, user: User) -> bool:
    """Whether ``user`` is the only enabled account whose role holds 'users.manage'."""
    matrix = permission_matrix(session, profile)
    admin_roles = [role for role, perms in matrix.items() if "users.manage" in perms]
    if user.role not in admin_roles:
        return False
    others = session.scalar(
        select(User.id).where(User.active.is_(True), User.role.in_(admin_roles), User.id != user.id).limit(1)
    )
    return others is None


def disable(
    session: Session, actor: audit.Actor, user: User, reason: str, profile: PolicyProfile | None = None
) -> None:
    """Disable an account. With ``profile``, refuses to disable the last active administrator."""
    if not user.active:
        return
    if profile is not None and _last_active_administrator(session, profile, user):
        raise AccessError("this is the last active account that can administer users: appoint another first")
    user.active, user.disabled_at, user.disabled_reason = False, utcnow(), reason[:200]
    audit.record(
        session, audit.Event("user.disable", actor, target=f"user:{user.username}", details={"reason": reason})
    )


def enable(session: Session, actor: audit.Actor, user: User) -> None:
    """Enabling also restarts the idle clock, or an idle-disabled account would be disabled again at once."""
    user.active, user.disabled_at, user.disabled_reason = True, None, None
    user.last_login_at = utcnow()
    audit.record(session, audit.Event("user.enable", actor, target=f"user:{user.username}"))


def unlock(session: Session, actor: audit.Actor, user: User) -> None:
    user.failed_logins, user.locked_until = 0, None
    audit.record(session, audit.Event("user.unlock", actor, target=f"user:{user.username}"))


def reset_second_factor(session: Session, actor: audit.Actor, user: User) -> None:
    """The user enrols a new authenticator at the next sign-in (a lost phone)."""
    user.totp_secret_enc, user.totp_enrolled_at, user.totp_last_step = None, None, None
    audit.record(session, audit.Event("user.second_factor_reset", actor, target=f"user:{user.username}"))


def update_user(
    session: Session,
    profile: PolicyProfile,
    actor: audit.Actor,
    user: User,
    *,
    role: str | None = None,
    unit: str | None = None,
    badge_number: str | None = None,
    display_name: str | None = None,
) -> None:
    changes: dict[str, object] = {}
    if role is not None and role != user.role:
        if profile.role(role) is None:
            raise AccessError(f"unknown role {role!r}; this profile's roles: {', '.join(profile.role_keys())}")
        if _last_active_administrator(session, profile, user):
            raise AccessError("this is the last active account that can administer users: appoint another first")
        changes["role"] = {"from": user.role, "to": role}
        user.role = role
    for field, value in (("unit", unit), ("badge_number", badge_number), ("display_name", display_name)):
        if value is not None and value.strip() != (getattr(user, field) or ""):
            changes[field] = {"from": getattr(user, field), "to": value.strip() or None}
            setattr(user, field, value.strip() or None)
    if not user.display_name:
        user.display_name = user.username
    if changes:
        audit.record(session, audit.Event("user.update", actor, target=f"user:{user.username}", details=changes))


def disable_idle(session: Session, profile: PolicyProfile, actor: audit.Actor) -> list[str]:
    """Disable every enabled account idle past the profile's limit; returns their usernames."""
    now = utcnow()
    disabled = []
    for user in session.scalars(select(User).where(User.active.is_(True)).options(selectinload(User.trainings))):
        if access.is_idle(profile, account_state(profile, user).last_activity, now):
            disable(session, actor, user, f"idle for more than {profile.accounts.idle_disable_days} days")
            disabled.append(user.username)
    return disabled


@dataclass(frozen=True)
class ReviewRow:
    """One line of the access review: who holds which role and when they last used it."""

    username: str
    display_name: str
    role: str
    unit: str | None
    badge_number: str | None
    status: str
    training: str
    approved_by: str | None
    last_login_at: dt.datetime | None
    last_seen_at: dt.datetime | None
    idle_days: int | None


def status_of(profile: PolicyProfile, user: User, now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    state = account_state(profile, user)
    if not state.active:
        return f"disabled ({user.disabled_reason or 'by an administrator'})"
    if state.locked_until and state.locked_until > now:
        return "locked"
    if not state.training.current:
        return "needs training"
    if not state.approved:
        return "awaiting approval"
    if access.is_idle(profile, state.last_activity, now):
        return "idle"
    return "active"


def access_review(session: Session, profile: PolicyProfile) -> list[ReviewRow]:
    now = utcnow()
    rows = []
    users = session.scalars(select(User).order_by(User.role, User.username).options(selectinload(User.trainings)))
    for user in users:
        last = user.last_seen_at or user.last_login_at
        rows.append(
            ReviewRow(
                username=user.username,
                display_name=user.display_name,
                role=user.role,
                unit=user.unit,
                badge_number=user.badge_number,
                status=status_of(profile, user, now),
                training=training_of(profile, user).describe(),
                approved_by=user.approved_by_name,
                last_login_at=user.last_login_at,
                last_seen_at=user.last_seen_at,
                idle_days=(now - last).days if last else None,
            )
        )
    return rows
