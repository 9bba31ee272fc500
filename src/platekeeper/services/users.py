"""User accounts, passwords and sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.policy.profile import PolicyProfile
from platekeeper.services import audit
from platekeeper.services.agencies import home_agency
from platekeeper.store.models import User, UserSession, utcnow

_hasher = PasswordHasher()
USERNAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
# A constant hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


class UserError(ValueError):
    pass


def password_problem(password: str, username: str) -> str | None:
    """Why a password is unacceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must be at least {MIN_PASSWORD_LENGTH} characters"
    if username.lower() in password.lower():
        return "password must not contain the username"
    if len(set(password)) < 5:
        return "password must use at least 5 different characters"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session,
    profile: PolicyProfile,
    actor: audit.Actor,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str,
    unit: str | None = None,
    badge_number: str | None = None,
) -> User:
    """A new account; it cannot sign in until trained and approved (ACC-1)."""
    username = username.strip().lower()
    if not USERNAME_PATTERN.fullmatch(username):
        raise UserError(
            "username must be 2-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter"
        )
    role_def = profile.role(role)
    if role_def is None:
        raise UserError(f"unknown role {role!r}; this profile's roles: {', '.join(profile.role_keys())}")
    badge_number = (badge_number or "").strip() or None
    if role_def.sworn and not badge_number:
        raise UserError(f"a {role_def.label.lower()} is a sworn member: give the badge number")
    if badge_number and not re.fullmatch(r"[A-Za-z0-9-]{1,32}", badge_number):
        raise UserError("the badge number may hold letters, digits and '-' (at most 32)")
    problem = password_problem(password, username)
    if problem:
        raise UserError(problem)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"username {username!r} is taken")
    user = User(
        agency_id=home_agency(session, profile).id,
        username=username,
        display_name=display_name.strip() or username,
        role=role,
        unit=unit,
        badge_number=badge_number,
        password_hash=hash_password(password),
        created_by=actor.name or actor.type,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        audit.Event("user.create", actor, target=f"user:{username}", details={"role": role, "unit": unit}),
    )
    return user


@dataclass(frozen=True)
class PasswordCheck:
    user: User | None  # the account named, whether or not the password was right
    ok: bool


def check_password(session: Session, username: str, password: str) -> PasswordCheck:
    """Verify in constant-ish time whether or not the user exists, so timing does not reveal usernames."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return PasswordCheck(user, False)
    if user is None:
        return PasswordCheck(None, False)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return PasswordCheck(user, True)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


SECOND_FACTOR_MINUTES = 10  # how long a right password waits for its TOTP code


def open_session(session: Session, user: User, hours: float, source_ip: str | None, *, stage: str = "full") -> str:
    """A new random session token; only its hash is stored. A "second_factor" session opens nothing yet."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    lifetime = dt.timedelta(hours=hours) if stage == "full" else dt.timedelta(minutes=SECOND_FACTOR_MINUTES)
    session.add(
        UserSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + lifetime,
            source_ip=source_ip,
            stage=stage,
        )
    )
    if stage == "full":
        user.last_login_at = now
        user.last_seen_at = now
    return token


def session_row(session: Session, token: str, stage: str = "full") -> UserSession | None:
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is None or row.revoked or row.expires_at <= utcnow() or row.stage != stage or not row.user.active:
        return None
    return row


def resolve_session(session: Session, token: str) -> User | None:
    row = session_row(session, token)
    return row.user if row else None


def close_session(session: Session, token: str) -> None:
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is not None:
        row.revoked = True
