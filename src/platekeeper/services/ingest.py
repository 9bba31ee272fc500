"""Ingest: masks, recognition, dedupe, encrypted images, and the read rows — all or nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from platekeeper.capture.masks import apply_privacy_masks
from platekeeper.recognition.base import Image, PlateRead
from platekeeper.services import alerts, audit
from platekeeper.services.cameras import location_at
from platekeeper.store.images import ImageUnavailableError
from platekeeper.store.models import Camera, Read, ReadImage, utcnow
from platekeeper.system import System

MAX_CLOCK_AHEAD = dt.timedelta(hours=1)
JPEG_QUALITY = 90


class IngestRefused(ValueError):
    """The submission was refused; nothing was stored."""


@dataclass(frozen=True)
class PendingRead:
    plate: PlateRead
    captured_at: dt.datetime
    frame: Image | None  # already masked
    client_read_id: str | None = None
    location: tuple[float, float] | None = None  # a mobile unit's own GPS fix at capture


@dataclass(frozen=True)
class IngestResult:
    created: list[Read]
    duplicates: list[Read]


def require_live(camera: Camera) -> None:
    if not camera.live:
        raise IngestRefused(
            f"camera {camera.key!r} has no public-view attestation on record and cannot deliver reads (CAP-3)"
        )


def check_capture_time(captured_at: dt.datetime) -> dt.datetime:
    if captured_at.tzinfo is None:
        raise IngestRefused("capture time has no time zone; send ISO 8601 with an offset, e.g. 2026-05-01T10:00:00Z")
    if captured_at - utcnow() > MAX_CLOCK_AHEAD:
        raise IngestRefused(f"capture time {captured_at.isoformat()} is in the future; check the camera's clock")
    return captured_at.astimezone(dt.UTC)


def masked(camera: Camera, frame: Image) -> Image:
    """CAP-3: what lies inside a privacy mask is neither read nor stored."""
    return apply_privacy_masks(frame, [[(p[0], p[1]) for p in poly] for poly in camera.privacy_masks])


def box_in_mask(camera: Camera, box: Sequence[int]) -> bool:
    x, y, w, h = box
    centre = (x + w / 2.0, y + h / 2.0)
    for polygon in camera.privacy_masks:
        contour = np.array(polygon, dtype=np.float32)
        if cv2.pointPolygonTest(contour, centre, False) >= 0:
            return True
    return False


def recognise_frame(system: System, camera: Camera, frame: Image, top: int = 5) -> tuple[Image, list[PlateRead]]:
    clean = masked(camera, frame)
    return clean, system.recognizer.recognize(clean, top=top)


def encode_jpeg(image: Image) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise IngestRefused("could not encode the image as JPEG")
    return bytes(buffer.tobytes())


def _existing(session: Session, camera: Camera, client_read_id: str) -> list[Read]:
    return list(
        session.scalars(
            select(Read).where(
                Read.camera_id == camera.id,
                or_(Read.client_read_id == client_read_id, Read.client_read_id.like(f"{client_read_id}#%")),
            )
        )
    )


def _client_ids(pending: Sequence[PendingRead]) -> list[str | None]:
    """One client id may cover several plates in one image: the 2nd onwards get ``#n``."""
    seen: dict[str, int] = {}
    ids: list[str | None] = []
    for item in pending:
        cid = item.client_read_id
        if cid is None:
            ids.append(None)
            continue
        seen[cid] = seen.get(cid, 0) + 1
        ids.append(cid if seen[cid] == 1 else f"{cid}#{seen[cid]}")
    return ids


def _store_image(
    system: System, read: Read, kind: str, image: Image, keys: dict[dt.date, bytes], written: list[str]
) -> ReadImage:
    data = encode_jpeg(image)
    blob = system.images.put(read.capture_day, kind, data, key=keys[read.capture_day])
    written.append(blob)
    height, width = image.shape[:2]
    return ReadImage(
        kind=kind,
        capture_day=read.capture_day,
        blob_name=blob,
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        size_bytes=len(data),
    )


def _build_read(session: Session, camera: Camera, item: PendingRead, client_id: str | None, source: str) -> Read:
    captured = check_capture_time(item.captured_at)
    lat: float | None
    lon: float | None
    if camera.kind == "mobile" and item.location is not None:
        lat, lon = item.location
    else:
        lat, lon = location_at(session, camera, captured)
    plate = item.plate
    return Read(
        uid=str(uuid.uuid4()),
        client_read_id=client_id,
        agency_id=camera.agency_id,
        camera_id=camera.id,
        plate=plate.plate,
        confidence=round(plate.confidence, 4),
        candidates=[{"plate": c.plate, "confidence": round(c.confidence, 4)} for c in plate.candidates],
        region=plate.region,
        box=plate.box.as_list(),
        captured_at=captured,
        capture_day=captured.date(),
        received_at=utcnow(),
        latitude=lat,
        longitude=lon,
        vehicle_colour=plate.attributes.colour,
        vehicle_make=plate.attributes.make,
        vehicle_type=plate.attributes.body_type,
        source=source,
    )


def _insert(
    system: System,
    session: Session,
    actor: audit.Actor,
    camera_key: str,
    pending: Sequence[PendingRead],
    source: str,
    keys: dict[dt.date, bytes],
    written: list[str],
) -> IngestResult:
    camera = session.scalar(select(Camera).where(Camera.key == camera_key))
    if camera is None:
        raise IngestRefused(f"no camera {camera_key!r}")
    require_live(camera)
    duplicates: list[Read] = []
    created: list[Read] = []
    for item, client_id in zip(pending, _client_ids(pending), strict=True):
        if client_id is not None and (dupes := _existing(session, camera, client_id)):
            duplicates.extend(d for d in dupes if d.client_read_id == client_id)
            continue
        read = _build_read(session, camera, item, client_id, source)
        if item.plate.crop is not None:
            read.images.append(_store_image(system, read, "crop", item.plate.crop, keys, written))
        if item.frame is not None:
            read.images.append(_store_image(system, read, "frame", item.frame, keys, written))
        session.add(read)
        created.append(read)
    session.flush()
    if created:
        details = {"reads": [r.uid for r in created], "plates": [r.plate for r in created], "source": source}
        audit.record(session, audit.Event("read.ingest", actor, target=f"camera:{camera.key}", details=details))
        alerts.on_reads_stored(system, session, created)  # issue 6: hot-list matching; delivery after commit
    return IngestResult(created=created, duplicates=duplicates)


def _race_winners(system: System, camera_key: str, pending: Sequence[PendingRead]) -> list[Read]:
    """Reads a concurrent submission stored under the same client read ids."""
    with system.sessions() as session:
        camera = session.scalar(select(Camera).where(Camera.key == camera_key))
        if camera is None:
            return []
        return [r for i in pending if i.client_read_id for r in _existing(session, camera, i.client_read_id)]


def store_reads(
    system: System, actor: audit.Actor, camera_key: str, pending: Sequence[PendingRead], source: str
) -> IngestResult:
    """Store reads and their encrypted images in one transaction; duplicates come back, not stored."""
    written: list[str] = []
    # Day keys first, outside the write transaction (SQLite allows one writer at a time).
    days = {check_capture_time(item.captured_at).date() for item in pending}
    try:
        keys = {day: system.images.keyring.key_for_writing(day) for day in days}
    except ImageUnavailableError as exc:
        raise IngestRefused(str(exc)) from exc
    try:
        with system.sessions() as session, session.begin():
            return _insert(system, session, actor, camera_key, pending, source, keys, written)
    except BaseException as exc:
        for blob in written:  # nothing half-written: images of a rolled-back read go too
            system.images.delete(blob)
        if isinstance(exc, IntegrityError):
            # A concurrent submission of the same client read id won the race: report it as a duplicate.
            winners = _race_winners(system, camera_key, pending)
            if winners:
                return IngestResult(created=[], duplicates=winners)
            raise IngestRefused(f"the reads could not be stored: {exc.orig}") from exc
        raise


def refuse(system: System, actor: audit.Actor, reason: str, target: str | None = None) -> None:
    """Audit a refused submission (in its own transaction: the submission itself stored nothing)."""
    audit.record_alone(
        system.sessions,
        audit.Event("read.ingest_refused", actor, outcome="refused", target=target, details={"reason": reason}),
    )
