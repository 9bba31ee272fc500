"""Cameras: inventory, privacy masks, public-view attestation, API keys, GPS tracks."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.capture import masks
from platekeeper.policy.profile import PolicyProfile
from platekeeper.services import api_keys, audit
from platekeeper.services.agencies import home_agency
from platekeeper.store.models import ApiKey, Camera, GpsFix, utcnow

CAMERA_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# A mobile read takes the nearest GPS fix only if it is this close in time.
MAX_GPS_GAP = dt.timedelta(minutes=5)


class CameraError(ValueError):
    pass


def parse_polygon(text: str) -> list[list[float]]:
    """``"x1,y1 x2,y2 x3,y3"`` to ``[[x1, y1], ...]``; at least three points."""
    points: list[list[float]] = []
    for pair in text.split():
        try:
            x_text, y_text = pair.split(",")
            point = [float(x_text), float(y_text)]
        except ValueError as exc:
            raise CameraError(f"mask point {pair!r} is not 'x,y'") from exc
        points.append(point)
    return validate_polygon(points)


def validate_polygon(points: Sequence[Sequence[Any]]) -> list[list[float]]:
    """The capture layer's polygon check (the one ingest applies), plus what a stored mask needs:
    numbers, not text, and no negative pixel coordinates."""
    if not all(isinstance(v, int | float) for point in points for v in point):
        raise CameraError(f"mask points {list(points)!r} must be numbers")
    try:
        checked = masks.validate_polygon([tuple(point) for point in points])
    except ValueError as exc:
        raise CameraError(str(exc)) from exc
    if any(v < 0 for point in checked for v in point):
        raise CameraError(f"mask points {list(points)!r} must be non-negative pixel coordinates")
    return [[x, y] for x, y in checked]


def _check_location(kind: str, latitude: float | None, longitude: float | None) -> None:
    if kind not in {"fixed", "mobile"}:
        raise CameraError("camera kind must be 'fixed' or 'mobile'")
    if kind == "fixed" and (latitude is None or longitude is None):
        raise CameraError("a fixed camera needs its surveyed latitude and longitude")
    if latitude is not None and not -90 <= latitude <= 90:
        raise CameraError(f"latitude {latitude} is out of range")
    if longitude is not None and not -180 <= longitude <= 180:
        raise CameraError(f"longitude {longitude} is out of range")


def create_camera(
    session: Session,
    profile: PolicyProfile,
    actor: audit.Actor,
    *,
    key: str,
    name: str,
    kind: str,
    latitude: float | None = None,
    longitude: float | None = None,
    location_note: str | None = None,
    masks: Iterable[Sequence[Sequence[Any]]] = (),
) -> Camera:
    if not CAMERA_KEY_PATTERN.fullmatch(key):
        raise CameraError("camera id must be 1-64 characters: lower-case letters, digits, '-' or '_'")
    _check_location(kind, latitude, longitude)
    if session.scalar(select(Camera.id).where(Camera.key == key)) is not None:
        raise CameraError(f"camera {key!r} already exists")
    camera = Camera(
        key=key,
        agency_id=home_agency(session, profile).id,
        name=name.strip() or key,
        kind=kind,
        latitude=latitude if kind == "fixed" else None,
        longitude=longitude if kind == "fixed" else None,
        location_note=location_note,
        privacy_masks=[validate_polygon(m) for m in masks],
    )
    session.add(camera)
    session.flush()
    audit.record(
        session,
        audit.Event(
            "camera.create",
            actor,
            target=f"camera:{key}",
            details={"kind": kind, "latitude": latitude, "longitude": longitude, "masks": len(camera.privacy_masks)},
        ),
    )
    return camera


def get_camera(session: Session, key: str) -> Camera:
    camera = session.scalar(select(Camera).where(Camera.key == key))
    if camera is None:
        raise CameraError(f"no camera {key!r}")
    return camera


def attest_public_view(
    session: Session, actor: audit.Actor, camera: Camera, *, statement: str, attested_by: str
) -> None:
    """CAP-3: record who attested that the camera sees only what is in public view."""
    if len(statement.strip()) < 20:
        raise CameraError("the public-view attestation must describe what the camera sees (20 characters or more)")
    if not attested_by.strip():
        raise CameraError("the attestation must name the person attesting")
    camera.attestation_statement = statement.strip()
    camera.attested_by = attested_by.strip()
    camera.attested_at = utcnow()
    audit.record(
        session,
        audit.Event("camera.attest", actor, target=f"camera:{camera.key}", details={"attested_by": camera.attested_by}),
    )


def issue_api_key(session: Session, actor: audit.Actor, camera: Camera) -> str:
    """A new ingest key for the camera, revoking its earlier ones (rotation). Shown once; only a hash is kept."""
    for old in session.scalars(select(ApiKey).where(ApiKey.camera_id == camera.id, ApiKey.revoked_at.is_(None))):
        api_keys.revoke(session, actor, old.prefix, reason="replaced by a new key")
    _, text = api_keys.issue(session, actor, label=f"camera {camera.key}", scopes=["reads.ingest"], camera=camera)
    return text


def add_gps_fixes(session: Session, camera: Camera, fixes: Iterable[tuple[dt.datetime, float, float]]) -> int:
    if camera.kind != "mobile":
        raise CameraError(f"camera {camera.key!r} is fixed: it has a surveyed location, not a GPS track")
    count = 0
    for when, lat, lon in fixes:
        _check_location("mobile", lat, lon)
        if when.tzinfo is None:
            raise CameraError(f"GPS fix time {when.isoformat()} has no time zone")
        session.add(GpsFix(camera_id=camera.id, fixed_at=when, latitude=lat, longitude=lon))
        count += 1
    return count


def read_gps_csv(path: Path) -> list[tuple[dt.datetime, float, float]]:
    """A track as CSV with a header ``time,latitude,longitude`` (ISO 8601 times with zone)."""
    fixes = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"time", "latitude", "longitude"} - set(reader.fieldnames or [])
        if missing:
            raise CameraError(f"{path}: missing column(s) {sorted(missing)}; need time,latitude,longitude")
        for line_no, row in enumerate(reader, start=2):
            try:
                when = dt.datetime.fromisoformat(row["time"])
                fixes.append((when, float(row["latitude"]), float(row["longitude"])))
            except (TypeError, ValueError) as exc:
                raise CameraError(f"{path}, line {line_no}: {exc}") from exc
            if when.tzinfo is None:
                raise CameraError(f"{path}, line {line_no}: time {row['time']!r} needs a zone, e.g. +00:00")
    return fixes


def location_at(session: Session, camera: Camera, when: dt.datetime) -> tuple[float | None, float | None]:
    """Fixed: the surveyed spot. Mobile: the GPS fix nearest ``when`` within ``MAX_GPS_GAP``."""
    if camera.kind == "fixed":
        return camera.latitude, camera.longitude
    before = session.scalar(
        select(GpsFix)
        .where(GpsFix.camera_id == camera.id, GpsFix.fixed_at <= when)
        .order_by(GpsFix.fixed_at.desc())
        .limit(1)
    )
    after = session.scalar(
        select(GpsFix).where(GpsFix.camera_id == camera.id, GpsFix.fixed_at > when).order_by(GpsFix.fixed_at).limit(1)
    )
    nearest = min(
        (fix for fix in (before, after) if fix is not None),
        key=lambda fix: abs(fix.fixed_at - when),
        default=None,
    )
    if nearest is None or abs(nearest.fixed_at - when) > MAX_GPS_GAP:
        return None, None
    return nearest.latitude, nearest.longitude
