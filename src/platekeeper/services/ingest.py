"""Ingest: masks, recognition, dedupe, encrypted images, and the read rows — all or nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from platekeeper.capture.masks import apply_privacy_masks
from platekeeper.recognition.base import Image, PlateRead
from platekeeper.services import alerts, audit, ingest_writer
from platekeeper.services.cameras import location_at
from platekeeper.store.db import reading
from platekeeper.store.ids import new_uid
from platekeeper.store.images import ImageUnavailableError
from platekeeper.store.models import Camera, Read, ReadImage, utcnow
from platekeeper.system import BlurUnavailableError, System

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


@dataclass(frozen=True)
class StoredImage:
    """An image already encrypted and written to the store, waiting for its read row."""

    kind: str
    capture_day: dt.date
    blob_name: str
    sha256: str
    width: int
    height: int
    size_bytes: int

    def row(self) -> ReadImage:
        return ReadImage(
            kind=self.kind,
            capture_day=self.capture_day,
            blob_name=self.blob_name,
            sha256=self.sha256,
            width=self.width,
            height=self.height,
            size_bytes=self.size_bytes,
        )


@dataclass(frozen=True)
class Submission:
    """One sender's reads, checked and with their images written, for the ingest writer."""

    actor: audit.Actor
    camera_key: str
    pending: Sequence[PendingRead]
    source: str
    images: Sequence[Sequence[StoredImage]]  # per pending read


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


def _write_image(system: System, day: dt.date, kind: str, image: Image, key: bytes, written: list[str]) -> StoredImage:
    data = encode_jpeg(image)
    blob = system.images.put(day, kind, data, key=key)
    written.append(blob)
    height, width = image.shape[:2]
    return StoredImage(kind, day, blob, hashlib.sha256(data).hexdigest(), width, height, len(data))


def _people_blurred(system: System, frame: Image) -> Image:
    """CAP-4: with the ``blur_people`` setting, faces and people in a stored frame are blurred."""
    try:
        blurrer = system.people_blurrer
    except BlurUnavailableError as exc:
        raise IngestRefused(str(exc)) from exc
    return frame if blurrer is None else blurrer.blur(frame)


def _write_images(system: System, pending: Sequence[PendingRead], written: list[str]) -> list[list[StoredImage]]:
    """Encode, encrypt and write every image before the database transaction (the writer stays lean)."""
    with_images = [item for item in pending if item.plate.crop is not None or item.frame is not None]
    days = {check_capture_time(item.captured_at).date() for item in with_images}
    try:
        keys = {day: system.images.keyring.key_for_writing(day) for day in days}
    except ImageUnavailableError as exc:
        raise IngestRefused(str(exc)) from exc
    stored = []
    blurred: dict[int, Image] = {}  # several plates of one image share its frame: blur it once
    for item in pending:
        day = check_capture_time(item.captured_at).date()
        images = []
        if item.plate.crop is not None:
            images.append(_write_image(system, day, "crop", item.plate.crop, keys[day], written))
        if item.frame is not None:
            frame = blurred.get(id(item.frame))
            if frame is None:
                frame = blurred[id(item.frame)] = _people_blurred(system, item.frame)
            images.append(_write_image(system, day, "frame", frame, keys[day], written))
        stored.append(images)
    return stored


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
        uid=new_uid(),  # time-ordered: the uid index grows at its end (store/ids.py)
        client_read_id=client_id,
        agency_id=camera.agency_id,
        camera_id=camera.id,
        camera=camera,
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


def _cameras(session: Session, submissions: Sequence[Submission]) -> dict[str, Camera]:
    cameras = {}
    for key in dict.fromkeys(s.camera_key for s in submissions):
        camera = session.scalar(select(Camera).where(Camera.key == key))
        if camera is None:
            raise IngestRefused(f"no camera {key!r}")
        require_live(camera)
        cameras[key] = camera
    return cameras


def _stored_before(
    session: Session, cameras: dict[str, Camera], submissions: Sequence[Submission]
) -> dict[tuple[int, str], Read]:
    """Reads already stored under the batch's client read ids, by (camera, client read id)."""
    wanted: dict[int, set[str]] = {}
    for sub in submissions:
        ids = {cid for cid in _client_ids(sub.pending) if cid is not None}
        wanted.setdefault(cameras[sub.camera_key].id, set()).update(ids)
    found: dict[tuple[int, str], Read] = {}
    for camera_id, ids in wanted.items():
        if not ids:
            continue
        query = (
            select(Read)
            .where(Read.camera_id == camera_id, Read.client_read_id.in_(sorted(ids)))
            .options(selectinload(Read.camera), selectinload(Read.images))
        )
        found.update({(camera_id, str(r.client_read_id)): r for r in session.scalars(query)})
    return found


def _insert(system: System, session: Session, submissions: Sequence[Submission]) -> list[IngestResult]:
    """The reads of every submission, their audit records and their alerts; duplicates come back, not stored."""
    cameras = _cameras(session, submissions)
    stored = _stored_before(session, cameras, submissions)
    results: list[IngestResult] = []
    # One audit record per sender in the batch (the same camera, address and route), naming every read.
    stored_by: dict[tuple[audit.Actor, str, str], list[Read]] = {}
    for sub in submissions:
        camera = cameras[sub.camera_key]
        created: list[Read] = []
        duplicates: list[Read] = []
        for item, client_id, images in zip(sub.pending, _client_ids(sub.pending), sub.images, strict=True):
            if client_id is not None and (earlier := stored.get((camera.id, client_id))) is not None:
                duplicates.append(earlier)
                continue
            read = _build_read(session, camera, item, client_id, sub.source)
            if images:
                read.images = [image.row() for image in images]
            else:  # known to be empty, so the receipt can read it after commit without a query or flush work
                set_committed_value(read, "images", [])
            session.add(read)
            created.append(read)
            if client_id is not None:
                stored[(camera.id, client_id)] = read  # the same id again in this batch is a duplicate
        results.append(IngestResult(created=created, duplicates=duplicates))
        if created:
            stored_by.setdefault((sub.actor, camera.key, sub.source), []).extend(created)
    events = [
        audit.Event(
            "read.ingest",
            actor,
            target=f"camera:{camera_key}",
            details={"reads": [r.uid for r in reads], "plates": [r.plate for r in reads], "source": source},
        )
        for (actor, camera_key, source), reads in stored_by.items()
    ]
    if events:
        audit.record_many(session, events)  # its flush stores the reads too (one unit of work for the batch)
        # issue 6: hot-list matching in the same transaction; delivery after commit
        alerts.on_reads_stored(system, session, [r for result in results for r in result.created])
    return results


def write_batch(system: System, submissions: Sequence[Submission]) -> list[IngestResult]:
    """Commit several submissions in one transaction (the ingest writer's group commit)."""
    try:
        with system.sessions() as session, session.begin():
            return _insert(system, session, submissions)
    except IntegrityError as exc:
        # Another process stored the same client read id meanwhile (the writer retries the batch's
        # submissions one by one, so by now this is a single one): report the winner as a duplicate.
        if len(submissions) == 1:
            winners = _race_winners(system, submissions[0])
            if winners:
                return [IngestResult(created=[], duplicates=winners)]
        raise IngestRefused(f"the reads could not be stored: {exc.orig}") from exc


def _race_winners(system: System, sub: Submission) -> list[Read]:
    with reading(system.sessions) as session:
        cameras = {sub.camera_key: session.scalar(select(Camera).where(Camera.key == sub.camera_key))}
        if cameras[sub.camera_key] is None:
            return []
        return list(_stored_before(session, cameras, [sub]).values())  # type: ignore[arg-type]


def store_reads(
    system: System, actor: audit.Actor, camera_key: str, pending: Sequence[PendingRead], source: str
) -> IngestResult:
    """Store reads and their encrypted images, all or nothing; duplicates come back, not stored.

    Images are written here, in the caller's thread; the rows go through the database's one ingest
    writer, which commits whatever submissions are waiting together (services/ingest_writer.py)."""
    for item in pending:  # a bad time is refused here, not inside a batch it would sink
        check_capture_time(item.captured_at)
    written: list[str] = []
    try:
        images = _write_images(system, pending, written)
        result = ingest_writer.store(system, Submission(actor, camera_key, pending, source, images), write_batch)
    except BaseException:
        for blob in written:  # nothing half-written: images of a rolled-back read go too
            system.images.delete(blob)
        raise
    kept = {image.blob_name for read in result.created for image in read.images}
    for blob in written:
        if blob not in kept:  # a duplicate's images: the earlier read has its own
            system.images.delete(blob)
    return result


def refuse(system: System, actor: audit.Actor, reason: str, target: str | None = None) -> None:
    """Audit a refused submission (in its own transaction: the submission itself stored nothing)."""
    audit.record_alone(
        system.sessions,
        audit.Event("read.ingest_refused", actor, outcome="refused", target=target, details={"reason": reason}),
    )
