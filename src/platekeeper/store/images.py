"""Encrypted image store with crypto-shredding by capture day.

Each capture day has its own AES-256 data key, kept in the database only in
wrapped form (AES-GCM under the master key). Image files hold
``MAGIC | nonce | AES-GCM(day key, jpeg, aad=blob name)``. Destroying a day's key
makes every copy of that day's images unreadable, including copies in backups.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import uuid
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from platekeeper.store.db import reading
from platekeeper.store.keyfiles import load_or_create_key_file, parse_key
from platekeeper.store.models import ImageDayKey, utcnow

log = logging.getLogger(__name__)

MAGIC = b"PKIMG1"
NONCE_BYTES = 12
KEY_BYTES = 32
MASTER_KEY_FILE = "master.key"


class ImageUnavailableError(LookupError):
    """The image cannot be decrypted: its day key was destroyed, or the file is gone or altered."""


def load_or_create_master_key(configured: str | None, data_dir: Path, *, production: bool) -> bytes:
    """The configured key, or one kept in the data directory (generated on first run)."""
    if configured:
        return parse_key(configured, "the master key")
    path = data_dir / MASTER_KEY_FILE
    if production:
        log.warning(
            "PRODUCTION MODE WITHOUT PLATEKEEPER_MASTER_KEY: the image master key is kept in %s beside "
            "the data it protects. Set PLATEKEEPER_MASTER_KEY from a key manager and keep it out of backups.",
            path,
        )
    key, created = load_or_create_key_file(path, "the master key")
    if created:
        log.warning("generated a new image master key in %s", path)
    return key


class DayKeyring:
    """Per-day data keys, wrapped by the master key, stored in ``image_day_key``."""

    def __init__(self, sessions: sessionmaker[Session], master_key: bytes) -> None:
        self._sessions = sessions
        self._master = AESGCM(master_key)

    def _wrap(self, day: dt.date, key: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, key, day.isoformat().encode())

    def _unwrap(self, day: dt.date, wrapped: bytes) -> bytes:
        try:
            return self._master.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], day.isoformat().encode())
        except InvalidTag as exc:
            raise ImageUnavailableError(f"the key for {day} does not open with this master key") from exc

    def key_for_writing(self, day: dt.date) -> bytes:
        """The day's key, created on first use. Refuses a day whose key was destroyed."""
        with reading(self._sessions) as session:  # the day's key exists nearly always: no write lock for it
            found = session.get(ImageDayKey, day)
            if found is not None:
                if found.wrapped_key is None:
                    raise ImageUnavailableError(f"images of {day} were purged; its key is destroyed")
                return self._unwrap(day, found.wrapped_key)
        try:
            with self._sessions() as session, session.begin():
                row = session.get(ImageDayKey, day)
                if row is None:
                    key = secrets.token_bytes(KEY_BYTES)
                    session.add(ImageDayKey(day=day, wrapped_key=self._wrap(day, key)))
                    return key
                wrapped = row.wrapped_key
        except IntegrityError:  # another writer created it first: use theirs
            with self._sessions() as session:
                wrapped = session.scalar(select(ImageDayKey.wrapped_key).where(ImageDayKey.day == day))
        if wrapped is None:
            raise ImageUnavailableError(f"images of {day} were purged; its key is destroyed")
        return self._unwrap(day, wrapped)

    def key_for_reading(self, day: dt.date, session: Session | None = None) -> bytes:
        """Looked up on every read, never cached: a destroyed key must stop every process at once.

        Pass the caller's ``session`` when inside a transaction (SQLite has one writer at a time)."""
        query = select(ImageDayKey.wrapped_key).where(ImageDayKey.day == day)
        if session is not None:
            wrapped = session.scalar(query)
        else:
            with self._sessions() as own:
                wrapped = own.scalar(query)
        if wrapped is None:
            raise ImageUnavailableError(f"images of {day} are unavailable: the day's key is destroyed or missing")
        return self._unwrap(day, wrapped)

    def destroy(self, session: Session, day: dt.date) -> bool:
        """Destroy a day's key inside the caller's transaction. True if a key was destroyed."""
        row = session.get(ImageDayKey, day, with_for_update=True)
        if row is None or row.wrapped_key is None:
            return False
        row.wrapped_key = None
        row.destroyed_at = utcnow()
        return True


class ImageStore:
    """Encrypted image files under ``root``, named ``YYYY/MM/DD/<uuid>-<kind>.pkimg``."""

    def __init__(self, root: Path, keyring: DayKeyring) -> None:
        self.root = root
        self.keyring = keyring

    def put(self, day: dt.date, kind: str, plaintext: bytes, *, key: bytes | None = None) -> str:
        """Encrypt and write. Pass ``key`` (from ``keyring.key_for_writing``) when already inside a
        write transaction: fetching it here would open a second one."""
        key = key or self.keyring.key_for_writing(day)
        blob_name = f"{day:%Y/%m/%d}/{uuid.uuid4()}-{kind}.pkimg"
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = MAGIC + nonce + AESGCM(key).encrypt(nonce, plaintext, blob_name.encode())
        path = self._path(blob_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(sealed)
        os.replace(tmp, path)  # a reader never sees a half-written file
        return blob_name

    def get(self, day: dt.date, blob_name: str, session: Session | None = None) -> bytes:
        key = self.keyring.key_for_reading(day, session)
        try:
            sealed = self._path(blob_name).read_bytes()
        except FileNotFoundError as exc:
            raise ImageUnavailableError(f"image file {blob_name} is missing") from exc
        if not sealed.startswith(MAGIC):
            raise ImageUnavailableError(f"image file {blob_name} is not a platekeeper image")
        body = sealed[len(MAGIC) :]
        try:
            return AESGCM(key).decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], blob_name.encode())
        except InvalidTag as exc:
            raise ImageUnavailableError(f"image file {blob_name} was altered or belongs to another day") from exc

    def delete(self, blob_name: str) -> None:
        self._path(blob_name).unlink(missing_ok=True)

    def _path(self, blob_name: str) -> Path:
        path = (self.root / blob_name).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"blob name escapes the image store: {blob_name!r}")
        return path
