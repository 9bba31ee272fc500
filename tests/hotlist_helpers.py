"""Builders for the hot-list and alert tests: members with badges, entries, reads through real ingest."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy import select

from platekeeper.policy.purposes import PurposeStatement
from platekeeper.recognition.base import Box, Candidate, PlateRead
from platekeeper.services import audit, hotlists, ingest
from platekeeper.services.hotlists import EntryInput, Member
from platekeeper.store.db import transaction
from platekeeper.store.hotlist_models import Alert, HotListEntry
from platekeeper.store.models import User, utcnow
from platekeeper.system import System
from tests.conftest import ADMIN_ACTOR
from tests.helpers import make_camera, make_user

PURPOSE = PurposeStatement("criminal_investigation", "SJ-26-000211", None, "PC 211 robbery")


def member(system: System, username: str, role: str, badge: str | None = "4711") -> Member:
    """A signed-up user with badge and assignment (HOT-1), as a ``Member`` holding their role's permissions."""
    make_user(system, username, role, unit="Robbery Unit")
    with transaction(system.sessions) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        user.badge_number = badge
        user_id = user.id
    role_def = system.profile.role(role)
    permissions = frozenset(role_def.permissions) if role_def else frozenset()
    actor = audit.Actor(type="user", id=str(user_id), name=username, role=role, unit="Robbery Unit")
    return Member(user_id=user_id, actor=actor, permissions=permissions)


def department_list(system: System, key: str = "sjpd") -> None:
    with transaction(system.sessions) as session:
        hotlists.create_list(session, ADMIN_ACTOR, key=key, name="SJPD hot list")


def entry_input(plate: str, **overrides: object) -> EntryInput:
    values: dict[str, object] = {
        "plate": plate,
        "synopsis": "Vehicle used in an armed robbery (PC 211) at Curtner and Monterey",
        "purpose": PURPOSE,
        "case_numbers": ["SJ-26-000211"],
        "major_crime": True,
    }
    values.update(overrides)
    return EntryInput(**values)  # type: ignore[arg-type]


def active_entry(system: System, author: Member, approver: Member, plate: str, **overrides: object) -> HotListEntry:
    entry = hotlists.enter_plate(system, author, "sjpd", entry_input(plate, **overrides))
    return hotlists.approve(system, approver, entry.id)


def ingest_read(
    system: System, camera: str, plate: str, candidates: tuple[str, ...] = (), *, with_images: bool = True
) -> ingest.IngestResult:
    crop = np.full((40, 120, 3), 200, dtype=np.uint8) if with_images else None
    frame = np.full((360, 640, 3), 90, dtype=np.uint8) if with_images else None
    read = PlateRead(
        plate=plate,
        confidence=0.93,
        candidates=(Candidate(plate, 0.93), *(Candidate(c, 0.4) for c in candidates)),
        box=Box(10, 10, 120, 40),
        crop=crop,
    )
    pending = ingest.PendingRead(read, utcnow() - dt.timedelta(seconds=2), frame)
    actor = audit.Actor(type="camera", id=camera, name=camera)
    return ingest.store_reads(system, actor, camera, [pending], "api-edge")


def alerts_for(system: System, read_uid: str) -> list[Alert]:
    with system.sessions() as session:
        return list(session.scalars(select(Alert).where(Alert.read_uid == read_uid)))


def camera(system: System, key: str = "cam-1") -> str:
    make_camera(system, key)
    return key
