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
    username = username.strip().lower()
    if not USERNAME_PATTERN.fullmatch(username):
        raise UserError(
            "username must be 2-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter"
        )
    if profile.role(role) is None:
        raise UserError(f"unknown role {role!r}; this profile's roles: {', '.join(profile.role_keys())}")
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
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        audit.Event("user.create", actor, target=f"user:{username}", details={"role": role, "unit": unit}),
    )
    return user


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    reason: str | None  # why it failed, for the audit trail only: the caller shows a generic message


def check_password(session: Session, username: str, password: str) -> LoginResult:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return LoginResult(None, "unknown user" if user is None else "wrong password")
    if user is None:
        return LoginResult(None, "unknown user")
    if not user.active:
        return LoginResult(None, "account disabled")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return LoginResult(user, None)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, user: User, hours: float, source_ip: str | None) -> str:
    """A new random session token; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UserSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
            source_ip=source_ip,
        )
    )
    user.last_login_at = now
    return token


def resolve_session(session: Session, token: str) -> User | None:
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is None or row.revoked or row.expires_at <= utcnow() or not row.user.active:
        return None
    return row.user


def close_session(session: Session, token: str) -> None:
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is not None:
        row.revoked = True
