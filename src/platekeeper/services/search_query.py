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
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, column, func, literal, or_, select, text
from sqlalchemy.orm import Session

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


# ---- results: plain objects, not ORM reads ------------------------------------------------------------------------
# A result page is only displayed, exported or audited, never changed: building ORM objects for it (identity map,
# instrumented attributes, the camera and image relationships) cost about 70 µs a read, as much as the query.
# These carry the same attribute names as the models, so pages, the API and the CSV export read them alike.
@dataclass(frozen=True, slots=True)
class FoundCamera:
    id: int
    key: str
    name: str
    kind: str
    latitude: float | None
    longitude: float | None
    location_note: str | None


CAMERA_FIELDS = ("id", "key", "name", "kind", "latitude", "longitude", "location_note")


@dataclass(frozen=True, slots=True)
class FoundImage:
    id: int
    read_id: int
    kind: str
    capture_day: dt.date
    blob_name: str
    sha256: str
    content_type: str
    width: int
    height: int
    size_bytes: int


IMAGE_FIELDS = tuple(c.name for c in ReadImage.__table__.columns)
assert tuple(FoundImage.__dataclass_fields__) == IMAGE_FIELDS, "FoundImage must mirror read_image, in order"


@dataclass(slots=True)
class FoundRead:
    id: int
    uid: str
    client_read_id: str | None
    agency_id: int
    camera_id: int
    plate: str
    confidence: float
    candidates: list[Any]
    region: str | None
    box: list[Any] | None
    captured_at: dt.datetime
    capture_day: dt.date
    received_at: dt.datetime
    latitude: float | None
    longitude: float | None
    vehicle_colour: str | None
    vehicle_make: str | None
    vehicle_type: str | None
    source: str
    cell: int | None
    camera: FoundCamera
    images: list[FoundImage] = field(default_factory=list)


READ_FIELDS = tuple(c.name for c in Read.__table__.columns)
assert (*READ_FIELDS, "camera", "images") == tuple(FoundRead.__dataclass_fields__), "FoundRead mirrors plate_read"
_READ_COLUMNS = [Read.__table__.c[name] for name in READ_FIELDS]
_CAMERA_COLUMNS = [Camera.__table__.c[name] for name in CAMERA_FIELDS]
_IMAGE_COLUMNS = [ReadImage.__table__.c[name] for name in IMAGE_FIELDS]


def _found_read(row: Sequence[Any], cameras: dict[int, FoundCamera]) -> FoundRead:
    """A read from its columns (READ_FIELDS order) followed by its camera's (CAMERA_FIELDS order)."""
    n = len(READ_FIELDS)
    camera_id = row[n]
    camera = cameras.get(camera_id)
    if camera is None:
        camera = cameras[camera_id] = FoundCamera(*row[n : n + len(CAMERA_FIELDS)])
    return FoundRead(*row[:n], camera=camera)  # type: ignore[misc]


@dataclass
class Hit:
    read: FoundRead
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
def _plate_condition(query: PlateQuery, postgres: bool = False) -> ColumnElement[bool]:
    if query.mode == "exact":
        # ``plate || ''``, not ``plate``: pg_trgm (1.6+) answers "=" too, and PostgreSQL would AND a costly
        # trigram probe (about 350 pages at 10M reads) with the key index, which alone finds the few dozen rows.
        return and_(ReadPlate.plate_key == plate_key(query.text), ReadPlate.plate.concat("") == query.text)
    if query.mode == "fuzzy":
        return ReadPlate.plate_key.in_(sorted(one_edit_keys(plate_key(query.text))))
    wildcard = Wildcard(query.text)
    conditions: list[ColumnElement[bool]] = [ReadPlate.plate.like(wildcard.sql_like())]
    # A range scan on the key index (fixed start) or, on SQLite, the reversed-key index (fixed end); otherwise
    # the LIKE alone (PostgreSQL: the trigram index, which since 0006 also serves fixed ends; SQLite: a scan of
    # the plate index).
    which, prefixes = wildcard.index_ranges()
    if prefixes and not (postgres and which == "rkey"):
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
    query = _plate_query(session, criteria, agencies, cameras).order_by(ReadPlate.captured_at.desc())
    return list(session.execute(query.limit(SCAN_CAP + 1)).all())


def _plate_query(
    session: Session, criteria: Criteria, agencies: Select[int], cameras: Select[int] | None
) -> Select[Any]:
    assert criteria.plate is not None
    query = cast(
        "Select[Any]",
        select(ReadPlate.read_id, ReadPlate.capture_day, ReadPlate.captured_at, ReadPlate.plate, ReadPlate.is_top),
    ).where(
        _plate_condition(criteria.plate, session.get_bind().dialect.name == "postgresql"),
        ReadPlate.agency_id.in_(agencies),
    )
    if not criteria.alternatives:
        query = query.where(ReadPlate.is_top.is_(True))
    if criteria.since:
        query = query.where(ReadPlate.captured_at >= criteria.since)
    if criteria.until:
        query = query.where(ReadPlate.captured_at <= criteria.until)
    if cameras is not None:
        query = query.where(ReadPlate.camera_id.in_(cameras))
    return query


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


def _load_reads(session: Session, keys: list[tuple[int, dt.date]], criteria: Criteria) -> list[FoundRead]:
    """Reads by (id, capture_day), with their cameras and images.

    PostgreSQL: through ``platekeeper_reads`` (store/partitions.py), whose cached generic plan prunes
    partitions at run time, so no planning over the partitions per search; cameras and images come in
    the same statement. SQLite: one plain query for reads and cameras, one for the images."""
    if not keys:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return _pg_reads(session, keys, criteria)
    days = sorted({day for _, day in keys})
    query = _reads_select().where(Read.capture_day.in_(days), Read.id.in_([i for i, _ in keys]))
    return _with_images(session, _found_reads(session.execute(_read_filters(query, criteria))))


def _reads_select() -> Select[Any]:
    """Every read column and its camera's, as plain rows."""
    return select(*_READ_COLUMNS, *_CAMERA_COLUMNS).join_from(Read, Camera, Camera.id == Read.camera_id)


def _found_reads(rows: Any) -> list[FoundRead]:
    cameras: dict[int, FoundCamera] = {}
    return [_found_read(row, cameras) for row in rows]


_PG_READ_SQL = (  # noqa: S608 (column names from the models)
    "SELECT {columns} FROM platekeeper_reads(CAST(:ids AS bigint[]), CAST(:days AS date[])) AS r "
    "JOIN camera AS c ON c.id = r.camera_id "
    "LEFT JOIN read_image AS i ON i.read_id = r.id AND i.capture_day = r.capture_day"
).format(
    columns=", ".join(
        [f"r.{n}" for n in READ_FIELDS] + [f"c.{n}" for n in CAMERA_FIELDS] + [f"i.{n}" for n in IMAGE_FIELDS]
    )
)


def _pg_reads(session: Session, keys: list[tuple[int, dt.date]], criteria: Criteria) -> list[FoundRead]:
    """One round trip for the reads, their cameras and their images (a row per image, or one without).

    The columns are listed and matched by position: the three tables share column names (id, ...). Typed
    columns, so times come back in UTC and JSON as lists, as through the models."""
    sql = _PG_READ_SQL
    params: dict[str, Any] = {"ids": [i for i, _ in keys], "days": [d for _, d in keys]}
    if criteria.colour:
        sql += " WHERE lower(r.vehicle_colour) = :colour"
        params["colour"] = criteria.colour.lower()
    # The area's exact test runs in Python on every hit (find); the box only ever narrowed the scan.
    statement = text(sql).columns(*_READ_COLUMNS, *_CAMERA_COLUMNS, *_IMAGE_COLUMNS)
    return [read for read, _ in _joined_reads(session.execute(statement, params))]


def _joined_reads(rows: Any) -> list[tuple[FoundRead, Sequence[Any]]]:
    """Reads from rows of read, camera and image columns (in the *_FIELDS orders), then any extra columns:
    one row per image, or one with empty image columns. Each read comes with its first row, for the extras."""
    first_image = len(READ_FIELDS) + len(CAMERA_FIELDS)
    end_image = first_image + len(IMAGE_FIELDS)
    cameras: dict[int, FoundCamera] = {}
    found: dict[int, tuple[FoundRead, Sequence[Any]]] = {}
    for row in rows:
        entry = found.get(row[0])
        if entry is None:
            entry = found[row[0]] = (_found_read(row, cameras), row)
        if row[first_image] is not None:
            entry[0].images.append(FoundImage(*row[first_image:end_image]))
    return list(found.values())


def _plate_hits(
    session: Session, criteria: Criteria, agencies: Select[int], cameras: Select[int] | None
) -> tuple[list[Hit], bool]:
    """Hits through the plate index, and whether the result was cut short.

    Only the reads that can reach the page are fetched from plate_read: everything the order needs is in
    the index rows. With a colour or area criterion, which only the read itself can answer, all of them."""
    assert criteria.plate is not None
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres and criteria.plate.mode == "exact" and not (criteria.colour or criteria.area()):
        return _pg_exact_hits(session, criteria, agencies, cameras)
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


_FETCHED = [column(c.name, c.type) for c in Read.__table__.columns]


def _pg_exact_hits(
    session: Session, criteria: Criteria, agencies: Select[int], cameras: Select[int] | None
) -> tuple[list[Hit], bool]:
    """An exact search in one statement (PostgreSQL): every match ranks the same, so the page is simply the
    newest ``limit`` index rows (a read holds a plate text once), fetched through ``platekeeper_reads`` with
    their cameras and images in the same round trip. One more row than the page tells whether it was cut."""
    assert criteria.plate is not None
    page = (
        _plate_query(session, criteria, agencies, cameras)
        .order_by(ReadPlate.captured_at.desc(), ReadPlate.read_id.desc())
        .limit(criteria.limit + 1)
        .cte("page")
    )
    reads = (
        func.platekeeper_reads(
            select(func.array_agg(page.c.read_id)).scalar_subquery(),
            select(func.array_agg(page.c.capture_day)).scalar_subquery(),
        )
        .table_valued(*_FETCHED)
        .alias("r")
    )
    statement = (
        select(*[reads.c[n] for n in READ_FIELDS], *_CAMERA_COLUMNS, *_IMAGE_COLUMNS, page.c.plate, page.c.is_top)
        .select_from(reads)
        .join(page, page.c.read_id == reads.c.id)
        .join(Camera, Camera.id == reads.c.camera_id)
        .outerjoin(ReadImage, and_(ReadImage.read_id == reads.c.id, ReadImage.capture_day == reads.c.capture_day))
    )
    hits = [
        Hit(read, plate, "plate" if is_top else "alternative", criteria.plate.rank(plate) or Closeness(0, 0))
        for read, (*_, plate, is_top) in _joined_reads(session.execute(statement))
    ]
    ordered = sorted(hits, key=lambda h: (h.read.captured_at, h.read.id), reverse=True)
    return ordered[: criteria.limit], len(ordered) > criteria.limit


# ---- place and time step -----------------------------------------------------------------------------------------
def _with_images(session: Session, reads: list[FoundRead]) -> list[FoundRead]:
    """Images by read id: a join would go through the partitioned parent and plan every partition."""
    by_id = {r.id: r for r in reads}
    if by_id:
        for row in session.execute(select(*_IMAGE_COLUMNS).where(ReadImage.read_id.in_(list(by_id)))):
            by_id[row.read_id].images.append(FoundImage(*row))
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


def _read_filters(query: Select[Any], criteria: Criteria) -> Select[Any]:
    if criteria.colour:
        query = query.where(func.lower(Read.vehicle_colour) == criteria.colour.lower())
    area = criteria.area()
    if area is not None:
        query = query.where(_box_condition(area.box()))
    return query


def _place_reads(
    session: Session, criteria: Criteria, agencies: Select[int], cameras: Select[int] | None
) -> list[FoundRead]:
    query = _reads_select().where(Read.agency_id.in_(agencies))
    # capture_day is the UTC day: the bounds on it let PostgreSQL prune partitions when planning.
    if criteria.since:
        query = query.where(Read.captured_at >= criteria.since, Read.capture_day >= _utc_day(criteria.since))
    if criteria.until:
        query = query.where(Read.captured_at <= criteria.until, Read.capture_day <= _utc_day(criteria.until))
    if cameras is not None:
        query = query.where(Read.camera_id.in_(cameras))
    query = _read_filters(query, criteria).order_by(Read.captured_at.desc(), Read.id.desc()).limit(SCAN_CAP + 1)
    return _with_images(session, _found_reads(session.execute(query)))


def _utc_day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(dt.UTC).date()


def _in_area(read: FoundRead, criteria: Criteria) -> tuple[bool, float | None]:
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
