"""Signing in (ACC-1..3): password, account gate, lockout, TOTP second factor; every attempt audited.

A right password opens a short "second_factor" session when the role needs a
second factor; only a valid, unused TOTP code turns it into a full session
(under a new token, so a pending token can never be promoted by someone else).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session, selectinload

from platekeeper.policy import access as rules
from platekeeper.policy.profile import PolicyProfile
from platekeeper.services import access, audit, second_factor, users
from platekeeper.store.models import User, utcnow

Outcome = Literal["failed", "blocked", "second_factor", "signed_in"]


@dataclass(frozen=True)
class SignIn:
    outcome: Outcome
    token: str | None = None  # the session token: pending for "second_factor", full for "signed_in"
    message: str | None = None  # for "blocked": why, shown once the password was right


def actor_for(user: User, source_ip: str | None) -> audit.Actor:
    return audit.Actor(
        type="user",
        id=str(user.id),
        name=user.username,
        role=user.role,
        agency=user.agency.name,
        unit=user.unit,
        source_ip=source_ip,
    )


def _anonymous(username: str, source_ip: str | None) -> audit.Actor:
    return audit.Actor(type="anonymous", name=username.strip().lower()[:64], source_ip=source_ip)


def _count_failure(session: Session, profile: PolicyProfile, user: User, source_ip: str | None) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    until = rules.lockout_after_failure(profile, user.failed_logins, utcnow())
    if until is not None:
        user.locked_until = until
        user.failed_logins = 0
        audit.record(
            session,
            audit.Event(
                "auth.lockout",
                _anonymous(user.username, source_ip),
                outcome="refused",
                target=f"user:{user.username}",
                details={"locked_until": until.isoformat(), "threshold": profile.accounts.lockout_threshold},
            ),
        )


def _failed(session: Session, username: str, source_ip: str | None, reason: str) -> SignIn:
    audit.record(
        session,
        audit.Event(
            "auth.login_failed", _anonymous(username, source_ip), outcome="refused", details={"reason": reason}
        ),
    )
    return SignIn("failed")


def _gate(session: Session, profile: PolicyProfile, user: User, source_ip: str | None) -> str | None:
    """Why a user with the right password may still not sign in; disables idle accounts on the way."""
    state, now = access.account_state(profile, user), utcnow()
    block = rules.sign_in_block(profile, state, now)
    if state.active and rules.is_idle(profile, state.last_activity, now):  # whatever else blocks it too
        access.disable(
            session, audit.Actor.system(), user, f"idle for more than {profile.accounts.idle_disable_days} days"
        )
    return block


def sign_in(
    session: Session,
    profile: PolicyProfile,
    username: str,
    password: str,
    *,
    source_ip: str | None,
    session_hours: float,
) -> SignIn:
    """Check the password and the account; the caller commits (failures must be recorded too)."""
    check = users.check_password(session, username, password)
    user = check.user
    if user is not None and user.locked_until is not None and user.locked_until > utcnow():
        return _failed(session, username, source_ip, "account locked")
    if not check.ok or user is None:
        if user is not None:
            _count_failure(session, profile, user, source_ip)
        return _failed(session, username, source_ip, "unknown user" if user is None else "wrong password")
    session.refresh(user, ["trainings"])
    block = _gate(session, profile, user, source_ip)
    if block:
        _failed(session, username, source_ip, block)
        return SignIn("blocked", message=block)
    if rules.needs_second_factor(profile, profile.role(user.role)):
        token = users.open_session(session, user, session_hours, source_ip, stage="second_factor")
        return SignIn("second_factor", token=token)
    return _complete(session, user, session_hours, source_ip, second_factor_used=False)


def _complete(
    session: Session, user: User, session_hours: float, source_ip: str | None, *, second_factor_used: bool
) -> SignIn:
    user.failed_logins = 0
    token = users.open_session(session, user, session_hours, source_ip)
    audit.record(
        session,
        audit.Event("auth.login", actor_for(user, source_ip), details={"second_factor": second_factor_used}),
    )
    return SignIn("signed_in", token=token)


def pending_user(session: Session, token: str) -> User | None:
    """The user behind a session that still owes its second factor."""
    row = users.session_row(session, token, stage="second_factor")
    return row.user if row else None


def enrolment_secret(session: Session, field_key: bytes, user: User) -> str | None:
    """The secret to show while enrolling (kept until the first good code); None once enrolled."""
    if user.totp_enrolled_at is not None:
        return None
    if user.totp_secret_enc is None:
        user.totp_secret_enc = second_factor.encrypt_secret(field_key, second_factor.new_secret())
    return second_factor.decrypt_secret(field_key, user.totp_secret_enc)


def complete_second_factor(
    session: Session,
    profile: PolicyProfile,
    field_key: bytes,
    pending_token: str,
    code: str,
    *,
    source_ip: str | None,
    session_hours: float,
) -> SignIn:
    row = users.session_row(session, pending_token, stage="second_factor")
    if row is None:
        return SignIn("failed", message="the sign-in expired; enter your password again")
    user = session.get(User, row.user_id, options=[selectinload(User.trainings)])
    assert user is not None
    if user.locked_until is not None and user.locked_until > utcnow():
        row.revoked = True
        return _failed(session, user.username, source_ip, "account locked")
    if user.totp_secret_enc is None:
        return SignIn("failed", message="set up the authenticator first")
    secret = second_factor.decrypt_secret(field_key, user.totp_secret_enc)
    step = second_factor.matching_step(secret, code, user.totp_last_step, utcnow())
    if step is None:
        _count_failure(session, profile, user, source_ip)
        if user.locked_until is not None and user.locked_until > utcnow():
            row.revoked = True
        return _failed(session, user.username, source_ip, "wrong second-factor code")
    user.totp_last_step = step
    if user.totp_enrolled_at is None:
        user.totp_enrolled_at = utcnow()
        audit.record(session, audit.Event("auth.second_factor_enrolled", actor_for(user, source_ip)))
    row.revoked = True  # the pending token is spent; the full session gets a new one
    return _complete(session, user, session_hours, source_ip, second_factor_used=True)
