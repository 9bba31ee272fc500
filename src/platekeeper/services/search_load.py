"""Bulk loading of reads without images (imports from another system, benchmarks): COPY on PostgreSQL.

The ORM ingest path (services/ingest.py) fills the plate index and grid cell
through the session hook in store/models.py; this path writes plate_read and
read_plate itself, with the same functions, and creates the week partitions
first. It writes no audit record of its own: the caller records the import.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

from platekeeper.policy.geo import cell_of
from platekeeper.policy.plate_patterns import plate_key
from platekeeper.store import partitions
from platekeeper.store.ids import new_uid

READ_COLUMNS = (
    "id", "uid", "agency_id", "camera_id", "plate", "confidence", "candidates", "region", "captured_at",
    "capture_day", "received_at", "latitude", "longitude", "vehicle_colour", "source", "cell",
)  # fmt: skip
PLATE_COLUMNS = (
    "read_id", "plate", "capture_day", "captured_at", "agency_id", "camera_id", "plate_key", "plate_rkey", "is_top",
)  # fmt: skip


@dataclass(frozen=True)
class BulkRead:
    agency_id: int
    camera_id: int
    plate: str
    confidence: float
    captured_at: dt.datetime  # aware, UTC
    latitude: float | None
    longitude: float | None
    candidates: tuple[tuple[str, float], ...] = ()
    vehicle_colour: str | None = None
    region: str | None = None
    uid: str = field(default_factory=new_uid)  # time-ordered (UUIDv7): its unique index grows at the end


Row = tuple[Any, ...]


def _identity(value: Any) -> Any:
    return value


def _candidates_json(candidates: Sequence[tuple[str, float]]) -> str:
    """``json.dumps`` of the candidate list, written directly when nothing in it needs escaping (plates of letters
    and digits, finite float confidences): about a quarter of the cost, on a path that runs once per read."""
    if all(p.isascii() and p.isalnum() and type(c) is float and math.isfinite(c) for p, c in candidates):
        return "[" + ", ".join(f'{{"plate": "{p}", "confidence": {c!r}}}' for p, c in candidates) + "]"
    return json.dumps([{"plate": p, "confidence": c} for p, c in candidates])


def _rows(
    reads: Sequence[BulkRead],
    ids: Sequence[int],
    received: Any,
    plate_rows: list[Row],
    stamp: Callable[[dt.datetime], Any] = _identity,
    day_value: Callable[[dt.date], Any] = _identity,
) -> Iterator[Row]:
    """The plate_read rows of ``reads`` (in capture order) with their ``ids``; their read_plate rows go to
    ``plate_rows`` on the way. A generator, so that PostgreSQL works on the COPY while the rows are made.

    ``stamp`` and ``day_value`` turn times and days into what the driver takes (SQLite: text)."""
    keys: dict[str, tuple[str, str]] = {}  # plate -> (key, reversed key): plates repeat a lot
    for read_id, r in zip(ids, reads, strict=True):
        captured = stamp(r.captured_at)
        day = day_value(r.captured_at.astimezone(dt.UTC).date())
        candidates = _candidates_json(r.candidates or ((r.plate, r.confidence),))
        for t in dict.fromkeys([r.plate, *(p for p, _ in r.candidates)]):
            pair = keys.get(t)
            if pair is None:
                key = plate_key(t)
                pair = keys[t] = (key, key[::-1])
            plate_rows.append((read_id, t, day, captured, r.agency_id, r.camera_id, pair[0], pair[1], t == r.plate))
        yield (
            read_id, r.uid, r.agency_id, r.camera_id, r.plate, r.confidence, candidates, r.region,
            captured, day, received, r.latitude, r.longitude, r.vehicle_colour, "bulk",
            cell_of(r.latitude, r.longitude),
        )  # fmt: skip


def load(engine: Engine, reads: Sequence[BulkRead]) -> int:
    """Store the reads and their plate-index rows in one transaction; returns how many.

    The reads are stored in capture order (ids follow it), as a live feed brings them: rows of one day go
    to one partition together and the time indexes grow at their end."""
    if not reads:
        return 0
    received = dt.datetime.now(dt.UTC)
    ordered = sorted(reads, key=lambda r: r.captured_at)
    if engine.dialect.name == "postgresql":
        return _load_postgres(engine, ordered, received)
    return _load_sqlite(engine, ordered, received)


# ---- PostgreSQL: binary COPY, row by row (psycopg encodes each row in C) -------------------------------------------
# Binary COPY spares the server parsing every time stamp, date and number from text. The types are the columns'
# own, except that the varchar and json columns go as "text": their binary input is the same UTF-8 text, and it
# lets psycopg pass the candidates' JSON text as it is (its json dumper would encode the string again).
READ_TYPES = (
    "int8", "text", "int4", "int4", "text", "float8", "text", "text", "timestamptz",
    "date", "timestamptz", "float8", "float8", "text", "text", "int8",
)  # fmt: skip
PLATE_TYPES = ("int8", "text", "date", "timestamptz", "int4", "int4", "text", "text", "bool")


TRIGRAM_INDEX = "ix_read_plate_plate_trgm"
GIN_PENDING_KB = 256 * 1024  # a batch of 100,000 reads adds about 30 MB of trigram entries


_by_key = operator.itemgetter(6, 3)  # plate_key, captured_at: the order of ix_read_plate_key_captured


def _load_postgres(engine: Engine, reads: Sequence[BulkRead], received: dt.datetime) -> int:
    partitions.ensure_days(engine, {r.captured_at.astimezone(dt.UTC).date() for r in reads})
    with engine.begin() as conn:
        raw: Any = conn.connection.dbapi_connection  # psycopg's connection: COPY is not in the DB-API
        plate_rows: list[Row] = []
        with raw.cursor() as cursor:
            # Ids from the sequence, as ingest takes them (concurrent writers may interleave: not assumed
            # contiguous); one array in one row, not a result row per id.
            cursor.execute(
                "SELECT array(SELECT nextval('plate_read_id_seq') FROM generate_series(1, %s))", (len(reads),)
            )
            ids = cursor.fetchone()[0]
            with cursor.copy(f"COPY plate_read ({', '.join(READ_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(READ_TYPES)
                for row in _rows(reads, ids, received, plate_rows):
                    copy.write_row(row)
            # In key order: the key index (random keys) is then filled in one sweep from left to right, each
            # leaf page read and dirtied once per batch, instead of at random all over an index that outgrows
            # the server's buffers (10M reads: 630 MB), and a plate's rows of the batch share heap pages.
            plate_rows.sort(key=_by_key)
            # The trigram index takes the batch into its pending list and merges it once, in key order, at the
            # end (each trigram's posting list decoded and rewritten once per batch, not once per 4 MB); the
            # merge runs before commit, so no search ever scans a long pending list. Only the index's owner (or
            # a superuser) may merge on demand: any other role loads with the server's usual 4 MB merges.
            cursor.execute(
                "SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = to_regclass(%s)", (TRIGRAM_INDEX,)
            )
            owner = cursor.fetchone()
            merge_once = bool(owner and owner[0])
            if merge_once:
                cursor.execute(f"SET LOCAL gin_pending_list_limit = {GIN_PENDING_KB}")
            with cursor.copy(f"COPY read_plate ({', '.join(PLATE_COLUMNS)}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(PLATE_TYPES)
                for row in plate_rows:
                    copy.write_row(row)
            if merge_once:
                cursor.execute("SELECT gin_clean_pending_list(to_regclass(%s))", (TRIGRAM_INDEX,))
    return len(reads)


# ---- SQLite: executemany on the driver's own cursor, one write transaction -----------------------------------------
# The load touches every index of both tables at random places (plates are random): with the indexes of a million
# reads (about 500 MB) in the page cache, inserts stop going to the file system for pages they just evicted.
# Only for the load: the connection goes back to the pool with its usual cache.
SQLITE_LOAD_CACHE_KIB = 1024 * 1024


def _load_sqlite(engine: Engine, reads: Sequence[BulkRead], received: dt.datetime) -> int:
    read_sql = (
        f"INSERT INTO plate_read ({', '.join(READ_COLUMNS)}, box, client_read_id) "  # noqa: S608 (constant column names)
        f"VALUES ({', '.join('?' * len(READ_COLUMNS))}, NULL, NULL)"
    )
    plate_sql = f"INSERT INTO read_plate ({', '.join(PLATE_COLUMNS)}) VALUES ({', '.join('?' * len(PLATE_COLUMNS))})"  # noqa: S608
    with engine.begin() as conn:  # BEGIN IMMEDIATE (store/db.py): nobody else takes ids meanwhile
        first_id = (conn.execute(text("SELECT coalesce(max(id), 0) FROM plate_read")).scalar_one() or 0) + 1
        ids = range(first_id, first_id + len(reads))
        plate_rows: list[Row] = []
        read_rows = list(_rows(reads, ids, _sqlite_time(received), plate_rows, _sqlite_time, dt.date.isoformat))
        cursor: Any = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            usual_cache = cursor.execute("PRAGMA cache_size").fetchone()[0]
            cursor.execute(f"PRAGMA cache_size = -{SQLITE_LOAD_CACHE_KIB}")
            try:
                cursor.executemany(read_sql, read_rows)
                cursor.executemany(plate_sql, plate_rows)
            finally:
                cursor.execute(f"PRAGMA cache_size = {int(usual_cache)}")
        finally:
            cursor.close()
    return len(reads)


def _sqlite_time(moment: dt.datetime) -> str:
    # SQLAlchemy's DateTime on SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC here); raw binds need the same text.
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
