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
import threading
import time
import weakref

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload, sessionmaker

from platekeeper.services import audit
from platekeeper.store.db import reading, transaction
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


def _parts(presented: str) -> tuple[str, str] | None:
    if not presented.startswith(KEY_PREFIX):
        return None
    prefix, _, secret = presented[len(KEY_PREFIX) :].partition("_")
    return (prefix, secret) if prefix and secret else None


# A camera sends reads many times a second; a key proven in the last second is not looked up again. So a
# revocation (or a change to the camera) reaches every server process within this; a revocation in this
# process is seen at once (``revoke`` forgets the proven keys). Failed keys are never remembered.
PROVEN_FOR_S = 1.0
_proven: weakref.WeakKeyDictionary[sessionmaker[Session], dict[str, tuple[float, Camera]]] = weakref.WeakKeyDictionary()
_proven_lock = threading.Lock()


def _forget_proven() -> None:
    with _proven_lock:
        _proven.clear()


def authenticate_camera(sessions: sessionmaker[Session], presented: str) -> Camera | None:
    """The camera whose usable ``reads.ingest`` key ``presented`` is, or None: every camera request."""
    digest = _hash(presented)
    with _proven_lock:
        proven = _proven.setdefault(sessions, {}).get(digest)
    if proven is not None and time.monotonic() - proven[0] < PROVEN_FOR_S:
        return proven[1]
    camera = _look_up_camera_key(sessions, presented)
    if camera is not None:
        with _proven_lock:
            remembered = _proven.setdefault(sessions, {})
            if len(remembered) > 10_000:  # bounded: one entry per camera in practice
                remembered.clear()
            remembered[digest] = (time.monotonic(), camera)
    return camera


def _look_up_camera_key(sessions: sessionmaker[Session], presented: str) -> Camera | None:
    """``authenticate`` in a read-only session (no write lock); "last used" is written, in a short
    transaction of its own, only when it is out of date."""
    with reading(sessions) as session:
        key = authenticate(session, presented, "reads.ingest", record_use=False)
        if key is None:
            return None
        camera, stale, key_id = key.camera, use_is_stale(key), key.id
    if stale:
        with transaction(sessions) as session:
            record_use_of(session, key_id)
    return camera


def authenticate(session: Session, presented: str, scope: str, *, record_use: bool = True) -> ApiKey | None:
    """The usable key holding ``scope`` that ``presented`` proves, or None.

    With ``record_use`` its "last used" time is brought up to date in ``session``; a caller reading
    in a read-only session passes False and calls ``record_use_of`` when ``use_is_stale``."""
    parts = _parts(presented)
    if scope not in SCOPES or parts is None:
        return None
    prefix, secret = parts
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix).options(joinedload(ApiKey.camera)))
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        return None
    if not key.usable or scope not in key.scopes:
        return None
    if record_use and use_is_stale(key):
        key.last_used_at = utcnow()
    return key


def use_is_stale(key: ApiKey) -> bool:
    """Whether "last used" is older than its resolution (it is not rewritten on every request)."""
    return key.last_used_at is None or utcnow() - key.last_used_at > LAST_USED_RESOLUTION


def record_use_of(session: Session, key_id: int) -> None:
    key = session.get(ApiKey, key_id)
    if key is not None and use_is_stale(key):
        key.last_used_at = utcnow()


def revoke(session: Session, actor: audit.Actor, prefix: str, reason: str = "") -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix.removeprefix(KEY_PREFIX).split("_")[0]))
    if key is None:
        raise ApiKeyError(f"no API key with prefix {prefix!r}")
    _forget_proven()
    if key.revoked_at is None:
        key.revoked_at, key.revoked_by = utcnow(), actor.name or actor.type
        audit.record(
            session, audit.Event("api_key.revoke", actor, target=f"api_key:{key.prefix}", details={"reason": reason})
        )
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc()).options(selectinload(ApiKey.camera))))
