"""Wire schemas and query parameters of search, canvass, evidence and the location report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Query
from pydantic import BaseModel, Field

from platekeeper.policy.geo import Circle, parse_polygon
from platekeeper.policy.plate_patterns import PlateQuery
from platekeeper.services.search import MAX_LIMIT, Scene
from platekeeper.services.search_query import Criteria, Hit
from platekeeper.web.schemas import CandidatePublic


class HitPublic(BaseModel):
    id: str
    plate: str
    matched_plate: str | None = Field(description="the plate text that matched: the top guess or an alternative")
    matched_on: str = Field(description="plate | alternative | place")
    closeness: str = Field(description="exact | confusable | one edit")
    confidence: float
    candidates: list[CandidatePublic]
    captured_at: dt.datetime
    camera: str
    camera_name: str
    latitude: float | None
    longitude: float | None
    distance_m: float | None
    vehicle_colour: str | None
    images: list[str]


class SearchResponse(BaseModel):
    count: int
    truncated: bool = Field(description="more reads matched than were returned: narrow the search")
    criteria: dict[str, Any]
    results: list[HitPublic]


class PlateGroupPublic(BaseModel):
    plate: str
    count: int
    first: dt.datetime
    last: dt.datetime
    reads: list[HitPublic]


class CanvassResponse(BaseModel):
    count: int
    truncated: bool
    scene: dict[str, Any]
    groups: list[PlateGroupPublic]


class EvidenceRequest(BaseModel):
    reads: list[str] = Field(min_length=1, max_length=500, description="read ids to export")
    reason: str = Field(min_length=1, max_length=1000, description="why these reads are exported")


class LocationPublic(BaseModel):
    latitude: float | None
    longitude: float | None
    captured_at: dt.datetime
    camera: str
    agency_kind: str
    hit: bool


class LocationsResponse(BaseModel):
    count: int
    truncated: bool
    plates: str = "withheld"
    by_place: list[dict[str, Any]]
    rows: list[LocationPublic]


def hit_public(hit: Hit) -> HitPublic:
    read = hit.read
    return HitPublic(
        id=read.uid,
        plate=read.plate,
        matched_plate=hit.matched_plate,
        matched_on=hit.matched_on,
        closeness=hit.closeness.label,
        confidence=read.confidence,
        candidates=read.candidates,
        captured_at=read.captured_at,
        camera=read.camera.key,
        camera_name=read.camera.name,
        latitude=read.latitude,
        longitude=read.longitude,
        distance_m=round(hit.distance_m, 1) if hit.distance_m is not None else None,
        vehicle_colour=read.vehicle_colour,
        images=sorted(i.kind for i in read.images),
    )


# ---- query parameters ------------------------------------------------------------------------------------------------
def parse_time(value: str | None, zone: ZoneInfo) -> dt.datetime | None:
    """ISO 8601; a time without a zone (a datetime-local field) is in the agency's zone."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date and time (ISO 8601)") from exc
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed


@dataclass
class SearchParams:
    plate: str | None = None
    mode: str = "auto"
    alternatives: bool = True
    since: str | None = None
    until: str | None = None
    camera: list[str] = field(default_factory=list)
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    polygon: str | None = None
    colour: str | None = None
    limit: int = 200

    def given(self) -> bool:
        """Whether any criterion was submitted (an empty form only shows the form: no data touched)."""
        return any((self.plate, self.since, self.until, self.camera, self.lat is not None, self.polygon, self.colour))

    def criteria(self, zone: ZoneInfo) -> Criteria:
        """The service's criteria; raises ValueError (PatternError included) on bad input."""
        circle = None
        if self.lat is not None or self.lon is not None:
            if self.lat is None or self.lon is None or not self.radius_m:
                raise ValueError("an area needs latitude, longitude and radius_m")
            if not (0 < self.radius_m <= 50_000):
                raise ValueError("radius_m must be between 1 and 50000")
            circle = Circle(self.lat, self.lon, self.radius_m)
        return Criteria(
            plate=PlateQuery.parse(self.plate, self.mode) if self.plate else None,
            alternatives=self.alternatives,
            since=parse_time(self.since, zone),
            until=parse_time(self.until, zone),
            cameras=tuple(self.camera),
            circle=circle,
            polygon=parse_polygon(self.polygon) if self.polygon else None,
            colour=(self.colour or "").strip().lower() or None,
            limit=self.limit,
        )


def search_params(
    plate: Annotated[str | None, Query(max_length=40, description="plate, or pattern with ? and *")] = None,
    mode: Annotated[str, Query(pattern="^(auto|exact|wildcard|fuzzy)$")] = "auto",
    alternatives: Annotated[bool, Query(description="also match each read's alternative candidates")] = True,
    since: Annotated[str | None, Query(max_length=40, description="ISO 8601; no zone: agency time")] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    camera: Annotated[list[str] | None, Query(max_length=64, description="camera ids (repeat)")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_m: Annotated[float | None, Query(gt=0, le=50_000)] = None,
    polygon: Annotated[str | None, Query(max_length=4000, description="lat,lon;lat,lon;… (3+ corners)")] = None,
    colour: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 200,
) -> SearchParams:
    return SearchParams(plate or None, mode, alternatives, since or None, until or None, camera or [],
                        lat, lon, radius_m, polygon or None, colour or None, limit)  # fmt: skip


@dataclass
class SceneParams:
    lat: float | None = None
    lon: float | None = None
    at: str | None = None
    radius_m: float = 500
    minutes: int = 120
    colour: str | None = None

    def given(self) -> bool:
        return self.lat is not None or self.lon is not None or bool(self.at)

    def scene(self, zone: ZoneInfo) -> Scene:
        at = parse_time(self.at, zone)
        if self.lat is None or self.lon is None or at is None:
            raise ValueError("a canvass needs the scene's latitude, longitude and time")
        return Scene(self.lat, self.lon, at, self.radius_m, self.minutes)


def scene_params(
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    at: Annotated[str | None, Query(max_length=40, description="the scene's time, ISO 8601")] = None,
    radius_m: Annotated[float, Query(gt=0, le=5000)] = 500,
    minutes: Annotated[int, Query(ge=1, le=1440)] = 120,
    colour: Annotated[str | None, Query(max_length=32)] = None,
) -> SceneParams:
    return SceneParams(lat, lon, at or None, radius_m, minutes, colour or None)
