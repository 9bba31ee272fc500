"""The queries behind search: find reads by plate (through the plate index) or by place and time.

No auditing here: ``services.search`` calls these and writes the audit record.
Each function returns a superset or exact set from SQL; the exact tests (wildcard,
fuzzy closeness, distance, polygon) run in Python on what comes back, so the
indexes only ever have to be fast, never exactly right.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, text
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from platekeeper.policy.geo import Box, Circle, Polygon, distance_m
from platekeeper.policy.plate_patterns import (
    Closeness,
    PlateQuery,
    Wildcard,
    key_range,
    one_edit_keys,
    plate_key,
)
from platekeeper.store.models import Agency, Camera, Read, ReadImage, ReadPlate

SCAN_CAP = 5000  # rows one step may bring back; more and the result says it was cut short


@dataclass(frozen=True)
class Criteria:
    """Everything a search can be narrowed by. ``describe`` is what the audit record keeps."""

    plate: PlateQuery | None = None
    alternatives: bool = True  # match each read's alternative candidates, not only its top guess
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    cameras: tuple[str, ...] = ()
    circle: Circle | None = None
    polygon: Polygon | None = None
    colour: str | None = None
    limit: int = 200

    def area(self) -> Circle | Polygon | None:
        return self.circle or self.polygon

    def describe(self) -> dict[str, Any]:
        return {
            "plate": self.plate.text if self.plate else None,
            "mode": self.plate.mode if self.plate else None,
            "alternatives": self.alternatives,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "cameras": list(self.cameras),
            "circle": self.circle.describe() if self.circle else None,
            "polygon": self.polygon.describe() if self.polygon else None,
            "colour": self.colour,
            "limit": self.limit,
        }


@dataclass
class Hit:
    read: Read
    matched_plate: str | None = None  # the plate text that matched (top guess or an alternative)
    matched_on: str = "place"  # plate | alternative | place
    closeness: Closeness = field(default_factory=lambda: Closeness(0, 0))
    distance_m: float | None = None


@dataclass
class Found:
    hits: list[Hit]
    truncated: bool


def visible_agencies(kinds: set[str]) -> Select[int]:
    """Agencies whose reads the viewer may see (police / parking, PRK-4): filtered in every step.

    A subquery, not a list: the check runs inside the index query, saving a round trip per search."""
    return select(Agency.id).where(Agency.kind.in_(sorted(kinds)))


def camera_ids(keys: Sequence[str]) -> Select[int]:
    return select(Camera.id).where(Camera.key.in_(list(keys)))


# ---- plate step ---------------------------------------------------------------------------------------------------
def _plate_condition(query: PlateQuery) -> ColumnElement[bool]:
    if query.mode == "exact":
        return and_(ReadPlate.plate_key == plate_key(query.text), ReadPlate.plate == query.text)
    if query.mode == "fuzzy":
        return ReadPlate.plate_key.in_(sorted(one_edit_keys(plate_key(query.text))))
    wildcard = Wildcard(query.text)
    conditions: list[ColumnElement[bool]] = [ReadPlate.plate.like(wildcard.sql_like())]
    # A range scan on the key index (fixed start) or the reversed-key index (fixed end); with neither, the
    # LIKE alone (PostgreSQL: the trigram index; SQLite: a scan of the plate index).
    which, prefixes = wildcard.index_ranges()
    if prefixes:
        column = ReadPlate.plate_key if which == "key" else ReadPlate.plate_rkey
        # Bounds inline (keys hold only A-Z, 0-9 and "~"): with bound parameters SQLite cannot weigh an OR of
        # ranges (a leading "?": one per first character) and scans the table instead of using the index.
        ranges = [
            and_(column >= literal(lo, literal_execute=True), column < literal(hi, literal_execute=True))
            for lo, hi in map(key_range, prefixes)
        ]
        conditions.append(or_(*ranges))
    low, high = wildcard.length_bounds()
    conditions.append(func.length(ReadPlate.plate) >= low)
    if high is not None:
        conditions.append(func.length(ReadPlate.plate) <= high)
    return and_(*conditions)


def _plate_rows(session: Session, criteria: Criteria, agencies: Select[int], cameras: Select[int] | None) -> list[Any]:
    assert criteria.plate is not None
    query = (
        select(ReadPlate.read_id, ReadPlate.capture_day, ReadPlate.captured_at, ReadPlate.plate, ReadPlate.is_top)
        .where(_plate_condition(criteria.plate), ReadPlate.agency_id.in_(agencies))
        .order_by(ReadPlate.captured_at.desc())
        .limit(SCAN_CAP + 1)
    )
    if not criteria.alternatives:
        query = query.where(ReadPlate.is_top.is_(True))
    if criteria.since:
        query = query.where(ReadPlate.captured_at >= criteria.since)
    if criteria.until:
        query = query.where(ReadPlate.captured_at <= criteria.until)
    if cameras is not None:
        query = query.where(ReadPlate.camera_id.in_(cameras))
    return list(session.execute(query).all())


@dataclass(frozen=True)
class _Match:
    rank: Closeness
    alternative: bool
    plate: str
    capture_day: dt.date
    captured_at: dt.datetime


def _best_matches(query: PlateQuery, rows: list[Any]) -> dict[int, _Match]:
    """Per read, its closest matching plate text (its top guess wins a tie)."""
    best: dict[int, _Match] = {}
    for row in rows:
        rank = query.rank(row.plate)
        if rank is None:
            continue
        known = best.get(row.read_id)
        if known is None or (rank, not row.is_top) < (known.rank, known.alternative):
            best[row.read_id] = _Match(rank, not row.is_top, row.plate, row.capture_day, row.captured_at)
    return best


def _ranked(best: dict[int, _Match]) -> list[int]:
    """Read ids in result order: closest first, then newest (then highest id), as ``find`` sorts the hits."""
    order = sorted(best, key=lambda rid: (best[rid].captured_at, rid), reverse=True)
    order.sort(key=lambda rid: best[rid].rank)  # stable: newest first within a rank
    return order


def _load_reads(session: Session, keys: list[tuple[int, dt.date]], criteria: Criteria) -> list[Read]:
    """Reads by (id, capture_day), with their cameras and images.

    PostgreSQL: through ``platekeeper_reads`` (store/partitions.py), whose cached generic plan prunes
    partitions at run time, so no planning over the day partitions per search; cameras and images come in
    the same statement. SQLite: one plain query."""
    if not keys:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return _pg_reads(session, keys, criteria)
    days = sorted({day for _, day in keys})
    query = _read_options(select(Read)).where(Read.capture_day.in_(days), Read.id.in_([i for i, _ in keys]))
    return _with_images(session, list(session.scalars(_read_filters(query, criteria))))


_PG_READ_TABLES = ((Read, "r"), (Camera, "c"), (ReadImage, "i"))


def _pg_reads(session: Session, keys: list[tuple[int, dt.date]], criteria: Criteria) -> list[Read]:
    """One round trip for the reads, their cameras and their images (a row per image, or one without).

    The columns are listed and matched by position: the three tables share column names (id, ...)."""
    columns = [column for model, _ in _PG_READ_TABLES for column in model.__table__.columns]
    listed = ", ".join(
        f"{alias}.{column.name}" for model, alias in _PG_READ_TABLES for column in model.__table__.columns
    )
    sql = (
        f"SELECT {listed} FROM platekeeper_reads(CAST(:ids AS bigint[]), CAST(:days AS date[])) AS r "  # noqa: S608
        "LEFT JOIN camera AS c ON c.id = r.camera_id "
        "LEFT JOIN read_image AS i ON i.read_id = r.id AND i.capture_day = r.capture_day"
    )
    params: dict[str, Any] = {"ids": [i for i, _ in keys], "days": [d for _, d in keys]}
    if criteria.colour:
        sql += " WHERE lower(r.vehicle_colour) = :colour"
        params["colour"] = criteria.colour.lower()
    # The area's exact test runs in Python on every hit (find); the box only ever narrowed the scan.
    statement = select(Read, Camera, ReadImage).from_statement(text(sql).columns(*columns))
    images: dict[int, list[ReadImage]] = {}
    reads: list[Read] = []
    for read, camera, image in session.execute(statement, params):
        if read.id not in images:
            images[read.id] = []
            reads.append(read)
            set_committed_value(read, "camera", camera)
        if image is not None:
            images[read.id].append(image)
    for read in reads:
        set_committed_value(read, "images", images[read.id])
    return reads


def _plate_hits(
    session: Session, criteria: Criteria, agencies: Select[int], cameras: Select[int] | None
) -> tuple[list[Hit], bool]:
    """Hits through the plate index, and whether the result was cut short.

    Only the reads that can reach the page are fetched from plate_read: everything the order needs is in
    the index rows. With a colour or area criterion, which only the read itself can answer, all of them."""
    assert criteria.plate is not None
    rows = _plate_rows(session, criteria, agencies, cameras)
    cut_short = len(rows) > SCAN_CAP
    best = _best_matches(criteria.plate, rows[:SCAN_CAP])
    order = _ranked(best)
    if not (criteria.colour or criteria.area()) and len(order) > criteria.limit:
        order, cut_short = order[: criteria.limit], True
    reads = _load_reads(session, [(rid, best[rid].capture_day) for rid in order], criteria)
    hits = []
    for read in reads:
        match = best[read.id]
        hits.append(Hit(read, match.plate, "alternative" if match.alternative else "plate", match.rank))
    return hits, cut_short


# ---- place and time step -----------------------------------------------------------------------------------------
def _read_options(query: Select[Read]) -> Select[Read]:
    return query.options(selectinload(Read.camera))


def _with_images(session: Session, reads: list[Read]) -> list[Read]:
    """Images by read id: the ORM's own eager load would join the partitioned parent and plan every partition."""
    by_id: dict[int, list[ReadImage]] = {r.id: [] for r in reads}
    if by_id:
        for image in session.scalars(select(ReadImage).where(ReadImage.read_id.in_(list(by_id)))):
            by_id[image.read_id].append(image)
    for read in reads:
        set_committed_value(read, "images", by_id[read.id])
    return reads


def _box_condition(box: Box) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [
        Read.latitude.between(box.south, box.north),
        Read.longitude.between(box.west, box.east),
    ]
    cells = box.cells()
    if cells is not None:  # the grid index finds the few cells; the box and the exact test trim the edges
        conditions.append(Read.cell.in_(cells))
    return and_(*conditions)


def _read_filters(query: Select[Read], criteria: Criteria) -> Select[Read]:
    if criteria.colour:
        query = query.where(func.lower(Read.vehicle_colour) == criteria.colour.lower())
    area = criteria.area()
    if area is not None:
        query = query.where(_box_condition(area.box()))
    return query


def _place_reads(
    session: Session, criteria: Criteria, agencies: Select[int], cameras: Select[int] | None
) -> list[Read]:
    query = _read_options(select(Read)).where(Read.agency_id.in_(agencies))
    # capture_day is the UTC day: the bounds on it let PostgreSQL prune partitions when planning.
    if criteria.since:
        query = query.where(Read.captured_at >= criteria.since, Read.capture_day >= _utc_day(criteria.since))
    if criteria.until:
        query = query.where(Read.captured_at <= criteria.until, Read.capture_day <= _utc_day(criteria.until))
    if cameras is not None:
        query = query.where(Read.camera_id.in_(cameras))
    query = _read_filters(query, criteria).order_by(Read.captured_at.desc(), Read.id.desc()).limit(SCAN_CAP + 1)
    return _with_images(session, list(session.scalars(query)))


def _utc_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()


def _in_area(read: Read, criteria: Criteria) -> tuple[bool, float | None]:
    area = criteria.area()
    if area is None:
        return True, None
    if read.latitude is None or read.longitude is None:
        return False, None
    if not area.contains(read.latitude, read.longitude):
        return False, None
    if isinstance(area, Circle):
        return True, distance_m(area.lat, area.lon, read.latitude, read.longitude)
    return True, None


# ---- together -------------------------------------------------------------------------------------------------------
def find(session: Session, criteria: Criteria, agency_kinds: set[str]) -> Found:
    """The reads matching every criterion, closest first (fuzzy) or newest first; at most ``limit``."""
    if not agency_kinds:
        return Found([], False)
    agencies = visible_agencies(agency_kinds)
    cameras = camera_ids(criteria.cameras) if criteria.cameras else None
    hits: list[Hit]
    if criteria.plate is not None:
        hits, scanned_out = _plate_hits(session, criteria, agencies, cameras)
    else:
        reads = _place_reads(session, criteria, agencies, cameras)
        scanned_out = len(reads) > SCAN_CAP
        hits = [Hit(r) for r in reads[:SCAN_CAP]]
    kept = []
    for hit in hits:
        inside, distance = _in_area(hit.read, criteria)
        if inside:
            hit.distance_m = distance
            kept.append(hit)
    kept.sort(key=lambda h: (h.closeness, -h.read.captured_at.timestamp(), -h.read.id))
    return Found(kept[: criteria.limit], scanned_out or len(kept) > criteria.limit)
