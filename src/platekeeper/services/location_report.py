"""The digital privacy officer's view (REP-2): where and when reads happened, and whether they hit, never the plate.

Rows carry latitude, longitude, time, camera and the hit flag (an alert was raised
on the read); an aggregate per grid cell serves the annual report's maps. The
query itself is audited like any other access to ALPR data (AUD-1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, column, exists, select, table
from sqlalchemy.orm import Session

from platekeeper.policy.geo import Box
from platekeeper.services import audit
from platekeeper.services.reads import Viewer
from platekeeper.store.models import Agency, Camera, Read

MAX_ROWS = 10_000
# The alert table belongs to hot lists (migration 0003); only its read keys are needed here.
_alert = table("alert", column("read_id"), column("capture_day"))


@dataclass(frozen=True)
class LocationRow:
    latitude: float | None
    longitude: float | None
    captured_at: dt.datetime
    camera: str
    agency_kind: str
    hit: bool


@dataclass
class LocationReport:
    rows: list[LocationRow]
    truncated: bool

    def by_place(self) -> list[dict[str, Any]]:
        """Reads and hits per location (camera position), most reads first."""
        places: dict[tuple[float | None, float | None, str], list[int]] = {}
        for row in self.rows:
            counts = places.setdefault((row.latitude, row.longitude, row.camera), [0, 0])
            counts[0] += 1
            counts[1] += int(row.hit)
        ordered = sorted(places.items(), key=lambda item: -item[1][0])
        return [{"latitude": k[0], "longitude": k[1], "camera": k[2], "reads": v[0], "hits": v[1]} for k, v in ordered]


def read_locations(
    session: Session,
    viewer: Viewer,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    box: Box | None = None,
    hits_only: bool = False,
    limit: int = MAX_ROWS,
) -> LocationReport:
    hit = exists().where(and_(_alert.c.read_id == Read.id, _alert.c.capture_day == Read.capture_day))
    query = (
        select(Read.latitude, Read.longitude, Read.captured_at, Camera.key, Agency.kind, hit.label("hit"))
        .join(Camera, Camera.id == Read.camera_id)
        .join(Agency, Agency.id == Read.agency_id)
        .order_by(Read.captured_at.desc())
        .limit(limit + 1)
    )
    if since:
        query = query.where(Read.captured_at >= since, Read.capture_day >= since.astimezone(dt.UTC).date())
    if until:
        query = query.where(Read.captured_at <= until, Read.capture_day <= until.astimezone(dt.UTC).date())
    if box:
        query = query.where(Read.latitude.between(box.south, box.north), Read.longitude.between(box.west, box.east))
    if hits_only:
        query = query.where(hit)
    rows = [LocationRow(*row) for row in session.execute(query).all()]
    report = LocationReport(rows[:limit], len(rows) > limit)
    criteria = {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "box": [box.south, box.west, box.north, box.east] if box else None,
        "hits_only": hits_only,
        "limit": limit,
    }
    audit.record(
        session,
        audit.Event(
            "locations.view",
            viewer.actor,
            details={"criteria": criteria, "result_count": len(report.rows), "plates_withheld": True},
        ),
    )
    return report
