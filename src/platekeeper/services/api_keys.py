"""API keys for cameras and edge units (ACC-2): scoped, only a hash kept, revocable, last use recorded.

A key reads ``pkc_<prefix>_<secret>``. The prefix finds the row; the secret is
compared as a SHA-256 hash (the secret is 256 random bits, so a slow hash adds
nothing). Keys are shown once, when issued.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from platekeeper.services import audit
from platekeeper.store.models import ApiKey, Camera, utcnow

KEY_PREFIX = "pkc_"
SCOPES: dict[str, str] = {
    "reads.ingest": "deliver reads and images for its camera",
    "hotlists.sync": "download the current hot lists to an edge unit (a patrol car alerting offline)",
}
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class ApiKeyError(ValueError):
    pass


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(
    session: Session,
    actor: audit.Actor,
    *,
    label: str,
    scopes: list[str],
    camera: Camera | None = None,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key; returns the row and the key text, which is never stored or logged."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ApiKeyError(f"scopes must be among {', '.join(SCOPES)}; got {unknown or 'none'}")
    if "reads.ingest" in scopes and camera is None:
        raise ApiKeyError("a key that delivers reads belongs to a camera")
    if not label.strip():
        raise ApiKeyError("give the key a label (which unit or camera holds it)")
    prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    key = ApiKey(
        prefix=prefix,
        secret_hash=_hash(secret),
        label=label.strip()[:200],
        scopes=sorted(set(scopes)),
        camera_id=camera.id if camera else None,
        created_by=actor.name or actor.type,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    audit.record(
        session,
        audit.Event(
            "api_key.create",
            actor,
            target=f"api_key:{prefix}",
            details={"label": key.label, "scopes": key.scopes, "camera": camera.key if camera else None},
        ),
    )
    return key, f"{KEY_PREFIX}{prefix}_{secret}"


def authenticate(session: Session, presented: str, scope: str) -> ApiKey | None:
    """The usable key holding ``scope`` that ``presented`` proves, or None."""
    if scope not in SCOPES or not presented.startswith(KEY_PREFIX):
        return None
    prefix, _, secret = presented[len(KEY_PREFIX) :].partition("_")
    if not prefix or not secret:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix).options(selectinload(ApiKey.camera)))
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    if not key.usable or scope not in key.scopes:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
    return key


def revoke(session: Session, actor: audit.Actor, prefix: str, reason: str = "") -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix.removeprefix(KEY_PREFIX).split("_")[0]))
    if key is None:
        raise ApiKeyError(f"no API key with prefix {prefix!r}")
    if key.revoked_at is None:
        key.revoked_at, key.revoked_by = utcnow(), actor.name or actor.type
        audit.record(
            session, audit.Event("api_key.revoke", actor, target=f"api_key:{key.prefix}", details={"reason": reason})
        )
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc()).options(selectinload(ApiKey.camera))))
