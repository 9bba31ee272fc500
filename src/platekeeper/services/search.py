"""Search and canvass (USE-4), every one audited with its purpose, criteria and result (AUD-1).

The purpose has been checked by ``services.purposes.require_purpose`` before these
run. A search that finds nothing is audited the same way as one that finds
something, and a viewer who may not see a class of data (parking staff and police
reads) gets the same empty answer whether such reads exist or not (SHR-4): the
visibility filter applies inside the query, before anything is counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from platekeeper.policy.geo import Circle
from platekeeper.policy.purposes import PurposeStatement
from platekeeper.services import audit
from platekeeper.services.reads import Viewer
from platekeeper.services.search_query import Criteria, Found, Hit, find

MAX_LIMIT = 2000
MAX_CANVASS_RADIUS_M = 5000
MAX_CANVASS_MINUTES = 24 * 60


@dataclass
class SearchResult:
    criteria: Criteria
    hits: list[Hit]
    truncated: bool


def record_access(
    session: Session,
    viewer: Viewer,
    purpose: PurposeStatement,
    event_type: str,
    criteria: dict[str, Any],
    found: Found,
    extra: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        audit.Event(
            event_type,
            viewer.actor,
            details={
                **purpose.audit_details(),
                "criteria": criteria,
                "result_count": len(found.hits),
                "truncated": found.truncated,
                "plates": [h.read.plate for h in found.hits],
                "reads": [h.read.uid for h in found.hits],
                **(extra or {}),
            },
        ),
    )


def search(session: Session, viewer: Viewer, purpose: PurposeStatement, criteria: Criteria) -> SearchResult:
    """Reads matching every criterion; audited whatever the outcome."""
    found = find(session, criteria, viewer.agency_kinds())
    record_access(session, viewer, purpose, "search.reads", criteria.describe(), found)
    return SearchResult(criteria, found.hits, found.truncated)


# ---- canvass ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scene:
    """A place and time to canvass: every read within ``radius_m`` and ``minutes`` of it."""

    lat: float
    lon: float
    at: dt.datetime
    radius_m: float = 500
    minutes: int = 120

    def __post_init__(self) -> None:
        if not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise ValueError("the scene's latitude and longitude are out of range")
        if not (0 < self.radius_m <= MAX_CANVASS_RADIUS_M):
            raise ValueError(f"the radius must be between 1 and {MAX_CANVASS_RADIUS_M} metres")
        if not (0 < self.minutes <= MAX_CANVASS_MINUTES):
            raise ValueError(f"the time window must be between 1 and {MAX_CANVASS_MINUTES} minutes")
        if self.at.tzinfo is None:
            raise ValueError("the scene's time needs a zone")

    def criteria(self, limit: int, colour: str | None = None) -> Criteria:
        window = dt.timedelta(minutes=self.minutes)
        return Criteria(
            since=self.at - window,
            until=self.at + window,
            circle=Circle(self.lat, self.lon, self.radius_m),
            colour=colour,
            limit=limit,
        )

    def describe(self) -> dict[str, Any]:
        return {
            "lat": self.lat,
            "lon": self.lon,
            "at": self.at.isoformat(),
            "radius_m": self.radius_m,
            "minutes": self.minutes,
        }


@dataclass
class PlateGroup:
    plate: str
    hits: list[Hit]

    @property
    def first(self) -> dt.datetime:
        return min(h.read.captured_at for h in self.hits)

    @property
    def last(self) -> dt.datetime:
        return max(h.read.captured_at for h in self.hits)


@dataclass
class CanvassResult:
    scene: Scene
    groups: list[PlateGroup]
    truncated: bool

    @property
    def hits(self) -> list[Hit]:
        return [h for g in self.groups for h in g.hits]


def group_by_plate(hits: list[Hit], at: dt.datetime) -> list[PlateGroup]:
    """One group per plate, the plate seen nearest the scene's time first."""
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.read.plate, []).append(hit)
    ordered = [PlateGroup(plate, sorted(g, key=lambda h: h.read.captured_at)) for plate, g in groups.items()]
    ordered.sort(key=lambda g: (min(abs((h.read.captured_at - at).total_seconds()) for h in g.hits), g.plate))
    return ordered


def canvass(
    session: Session,
    viewer: Viewer,
    purpose: PurposeStatement,
    scene: Scene,
    *,
    limit: int = MAX_LIMIT,
    colour: str | None = None,
) -> CanvassResult:
    """All reads around a scene, grouped by plate; audited with the scene and every plate."""
    criteria = scene.criteria(limit, colour)
    found = find(session, criteria, viewer.agency_kinds())
    described = {"scene": scene.describe(), **criteria.describe()}
    record_access(session, viewer, purpose, "search.canvass", described, found)
    return CanvassResult(scene, group_by_plate(found.hits, scene.at), found.truncated)
