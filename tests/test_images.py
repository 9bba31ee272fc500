"""The encrypted image store: AES-GCM per capture day, crypto-shredding by destroying the day key."""

from __future__ import annotations

import datetime as dt

import pytest

from platekeeper.store.db import transaction
from platekeeper.store.images import DayKeyring, ImageStore, ImageUnavailableError
from platekeeper.system import System

DAY = dt.date(2026, 5, 1)
OTHER_DAY = dt.date(2026, 5, 2)
JPEG = b"\xff\xd8\xff\xe0" + b"plate 7ABC123 " * 200 + b"\xff\xd9"


@pytest.mark.req("SEC-1")
def test_images_are_encrypted_at_rest_and_read_back(system: System) -> None:
    blob = system.images.put(DAY, "crop", JPEG)
    on_disk = (system.images.root / blob).read_bytes()
    assert b"7ABC123" not in on_disk and on_disk.startswith(b"PKIMG1")
    assert system.images.get(DAY, blob) == JPEG


@pytest.mark.req("RET-1")
def test_destroying_a_day_key_makes_that_day_unreadable_everywhere(system: System, tmp_path) -> None:  # type: ignore[no-untyped-def]
    blob = system.images.put(DAY, "frame", JPEG)
    other = system.images.put(OTHER_DAY, "frame", JPEG)
    backup = tmp_path / "backup.pkimg"
    backup.write_bytes((system.images.root / blob).read_bytes())  # a backup copy of the file
    with transaction(system.sessions) as session:
        assert system.images.keyring.destroy(session, DAY)
    with pytest.raises(ImageUnavailableError, match="destroyed"):
        system.images.get(DAY, blob)
    (system.images.root / blob).write_bytes(backup.read_bytes())  # restoring the backup does not help
    with pytest.raises(ImageUnavailableError):
        system.images.get(DAY, blob)
    with pytest.raises(ImageUnavailableError, match="purged"):
        system.images.put(DAY, "frame", JPEG)  # no new images under a destroyed day
    assert system.images.get(OTHER_DAY, other) == JPEG  # other days untouched


def test_altered_or_moved_files_are_detected(system: System) -> None:
    blob = system.images.put(DAY, "crop", JPEG)
    path = system.images.root / blob
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ImageUnavailableError, match="altered"):
        system.images.get(DAY, blob)
    with pytest.raises(ValueError, match="escapes"):
        system.images.get(DAY, "../../etc/passwd")


def test_another_master_key_cannot_open_the_day_keys(system: System) -> None:
    blob = system.images.put(DAY, "crop", JPEG)
    stranger = ImageStore(system.images.root, DayKeyring(system.sessions, b"\x01" * 32))
    with pytest.raises(ImageUnavailableError, match="master key"):
        stranger.get(DAY, blob)
