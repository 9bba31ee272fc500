"""External hot lists (stolen vehicles, NCIC/CLETS extracts, BOLOs): fetch, parse, synchronise (HOT-4).

A source is a file path or an HTTPS URL delivering the whole list as CSV or fixed-width text, read
through the list's column mapping. Each sync compares the file with the list's current rows by the
source's record id (or plate and state): new rows are added, changed ones updated, missing ones
removed (recorded, never deleted). An ordinary sync skips a source that has not changed since the
last success (same ETag or content hash); after any failure the list is flagged and the next attempt
is a full resynchronisation that re-reads and re-compares everything, whatever the source claims.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, cast

import httpx
from sqlalchemy import Dialect, Table, select, update
from sqlalchemy.orm import Session

from platekeeper.policy.hotlist_matching import PLATE_CHARS, clean_plate
from platekeeper.services import audit
from platekeeper.services.hotlists import bump_version, get_list
from platekeeper.store.db import transaction
from platekeeper.store.hotlist_models import HotList, HotListEntry, HotListSync
from platekeeper.store.models import utcnow
from platekeeper.system import System

FIELDS = ("plate", "state", "reason", "ref", "vehicle", "alert_type", "person")  # the order records come in
WANTED = frozenset({"wanted_person", "person", "w"})
FETCH_TIMEOUT_S = 60.0
CHUNK = 20_000


class SyncError(RuntimeError):
    pass


class SourceRow(NamedTuple):
    key: str  # the source's record id, or plate|state
    plate: str
    state: str | None
    reason: str
    vehicle: str | None
    alert_type: str
    person: str | None
    digest: str


# ---- parsing ------------------------------------------------------------------------------------------


def check_mapping(source_format: str, mapping: dict[str, Any]) -> None:
    """Refuse a mapping that cannot work, when it is saved rather than at 3 a.m."""
    columns = mapping.get("columns")
    if not isinstance(columns, dict) or "plate" not in columns:
        raise SyncError("the column mapping needs 'columns' with at least 'plate'")
    unknown = set(columns) - set(FIELDS)
    if unknown:
        raise SyncError(f"unknown mapped fields {sorted(unknown)}; known: {', '.join(FIELDS)}")
    if source_format == "fixed":
        for name, span in columns.items():
            if not (isinstance(span, list) and len(span) == 2 and all(isinstance(i, int) for i in span)):
                raise SyncError(f"fixed-width field {name!r} needs [start, end] character positions")
    elif source_format != "csv":
        raise SyncError("source format must be csv or fixed")


def _csv_records(text: str, mapping: dict[str, Any]) -> Iterator[tuple[str, ...]]:
    """Each row as a tuple in ``FIELDS`` order, "" for what the mapping leaves out."""
    columns: dict[str, Any] = mapping["columns"]
    delimiter = str(mapping.get("delimiter", ","))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    if mapping.get("header", True):
        header = [h.strip() for h in next(reader, [])]
        try:
            positions = {f: c if isinstance(c, int) else header.index(str(c)) for f, c in columns.items()}
        except ValueError as exc:
            raise SyncError(f"a mapped column is not in the file's header {header}: {exc}") from exc
    else:
        positions = {f: int(c) for f, c in columns.items()}
    picks = [positions.get(f) for f in FIELDS]
    width = max(i for i in picks if i is not None) + 1
    for row in reader:
        if not row:
            continue
        if len(row) < width:
            row += [""] * (width - len(row))
        yield tuple(row[i].strip() if i is not None else "" for i in picks)


def _fixed_records(text: str, mapping: dict[str, Any]) -> Iterator[tuple[str, ...]]:
    columns: dict[str, list[int]] = mapping["columns"]
    spans = [columns.get(f) for f in FIELDS]
    skip = int(mapping.get("skip_lines", 0))
    for n, line in enumerate(text.splitlines()):
        if n >= skip and line.strip():
            yield tuple(line[span[0] : span[1]].strip() if span else "" for span in spans)


def parse(text: str, source_format: str, mapping: dict[str, Any], default_reason: str) -> tuple[list[SourceRow], int]:
    """The rows, and how many could not be read (bad plate): those are counted, not fatal.

    Written for a million rows a minute: tuples rather than dicts, no regular expression per row.
    """
    check_mapping(source_format, mapping)
    records = _csv_records(text, mapping) if source_format == "csv" else _fixed_records(text, mapping)
    rows: dict[str, SourceRow] = {}
    rejected = 0
    for raw_plate, raw_state, reason, ref, vehicle, kind, person in records:
        plate = clean_plate(raw_plate)
        if not PLATE_CHARS.match(plate):
            rejected += 1
            continue
        state = raw_state.upper()
        alert_type = "wanted_person" if kind.lower() in WANTED else "vehicle"
        key = ref or f"{plate}|{state}"
        digest = hashlib.md5(
            f"{plate}\x1f{state}\x1f{reason}\x1f{vehicle}\x1f{alert_type}\x1f{person}".encode(), usedforsecurity=False
        ).hexdigest()
        rows[key] = SourceRow(
            key, plate, state or None, reason or default_reason, vehicle or None, alert_type, person or None, digest
        )
    return list(rows.values()), rejected


# ---- fetching -----------------------------------------------------------------------------------------


def fetch(source: str, etag: str | None) -> tuple[str | None, str | None]:
    """(text, new etag); text is None when the source says it has not changed since ``etag``."""
    if source.startswith(("https://", "http://")):
        headers = {"if-none-match": etag} if etag else {}
        try:
            response = httpx.get(source, headers=headers, timeout=FETCH_TIMEOUT_S, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise SyncError(f"could not reach {source}: {exc}") from exc
        if response.status_code == 304:
            return None, etag
        if response.status_code != 200:
            raise SyncError(f"{source} answered {response.status_code}")
        text = response.text
        tag = response.headers.get("etag") or _content_tag(text)
    else:
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise SyncError(f"could not read {source}: {exc}") from exc
        tag = _content_tag(text)
    return (None, etag) if etag and tag == etag else (text, tag)


def _content_tag(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:40]


# ---- applying -----------------------------------------------------------------------------------------


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    removed: int = 0


def _existing(session: Session, list_id: int) -> dict[str, tuple[int, str | None]]:
    found = session.execute(
        select(HotListEntry.external_ref, HotListEntry.id, HotListEntry.row_hash).where(
            HotListEntry.list_id == list_id, HotListEntry.status == "active"
        )
    ).all()
    return {ref: (entry_id, digest) for ref, entry_id, digest in found if ref is not None}


ROW_COLUMNS = ("plate", "state", "reason", "vehicle_description", "alert_type", "person_description", "row_hash")
INSERT_COLUMNS = (*ROW_COLUMNS, "list_id", "external_ref", "wildcard", "status", "case_numbers", "major_crime",
                  "created_at", "change_seq")  # fmt: skip
# Built from the constant column names above, never from input.
INSERT_SQL = f"INSERT INTO hot_list_entry ({', '.join(INSERT_COLUMNS)}) VALUES ({', '.join('?' * len(INSERT_COLUMNS))})"  # noqa: S608
UPDATE_SQL = f"UPDATE hot_list_entry SET {', '.join(f'{c} = ?' for c in (*ROW_COLUMNS, 'change_seq'))} WHERE id = ?"  # noqa: S608


def _row_values(row: SourceRow) -> tuple[Any, ...]:
    return (row.plate, row.state, row.reason, row.vehicle, row.alert_type, row.person, row.digest)


def _bound(table: Table, column: str, dialect: Dialect, value: Any) -> Any:
    """``value`` as the column's type would send it (JSON text, SQLite's datetime text, 0/1)."""
    processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return processor(value) if processor else value


def _executemany(session: Session, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Straight to the driver's executemany: building a million parameter dicts costs more than the inserts."""
    connection = session.connection()
    if connection.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    for i in range(0, len(rows), CHUNK):
        connection.exec_driver_sql(sql, list(rows[i : i + CHUNK]))


def apply_rows(session: Session, hot_list: HotList, rows: Sequence[SourceRow]) -> Counts:
    """Bring the list's rows to exactly ``rows`` in one transaction, bumping the version once."""
    version = bump_version(session)
    existing = _existing(session, hot_list.id)
    table = cast(Table, HotListEntry.__table__)
    dialect = session.connection().dialect
    now = utcnow()
    constant = (
        _bound(table, "wildcard", dialect, False),
        "active",
        _bound(table, "case_numbers", dialect, []),
        _bound(table, "major_crime", dialect, False),
        _bound(table, "created_at", dialect, now),
        version,
    )
    new: list[tuple[Any, ...]] = []
    changed: list[tuple[Any, ...]] = []
    for row in rows:
        have = existing.pop(row.key, None)
        if have is None:
            new.append((*_row_values(row), hot_list.id, row.key, *constant))
        elif have[1] != row.digest:
            changed.append((*_row_values(row), version, have[0]))
    _executemany(session, INSERT_SQL, new)
    _executemany(session, UPDATE_SQL, changed)
    gone = [entry_id for entry_id, _ in existing.values()]
    for i in range(0, len(gone), CHUNK):
        session.execute(
            update(table)
            .where(table.c.id.in_(gone[i : i + CHUNK]))
            .values(status="removed", removed_at=now, removed_by="sync", removal_reason="no longer on the source list",
                    change_seq=version)
        )  # fmt: skip
    return Counts(added=len(new), updated=len(changed), removed=len(gone))


# ---- one sync -----------------------------------------------------------------------------------------


def _record_failure(
    system: System, list_key: str, actor: audit.Actor, mode: str, started: dt.datetime, error: str
) -> None:
    with transaction(system.sessions) as session:
        hot_list = get_list(session, list_key)
        now = utcnow()
        hot_list.last_sync_at, hot_list.last_error, hot_list.needs_full_resync = now, error, True
        hot_list.next_sync_at = _next(hot_list, now)
        session.add(
            HotListSync(
                list_id=hot_list.id, started_at=started, finished_at=now, mode=mode, outcome="failed", error=error
            )
        )
        audit.record(
            session,
            audit.Event(
                "hotlist.sync_failed",
                actor,
                outcome="failed",
                target=f"hotlist:{list_key}",
                details={"error": error, "mode": mode},
            ),
        )


def _next(hot_list: HotList, now: dt.datetime) -> dt.datetime | None:
    minutes = hot_list.sync_interval_minutes
    return now + dt.timedelta(minutes=minutes) if minutes else None


def sync(system: System, list_key: str, actor: audit.Actor | None = None, *, full: bool = False) -> HotListSync:
    """Synchronise one external list. Failures are recorded (and shown on the list), not raised."""
    actor = actor or audit.Actor.system("hot-list sync")
    started = utcnow()
    with system.sessions() as session:
        hot_list = get_list(session, list_key)
        if hot_list.kind != "external" or not hot_list.source or not hot_list.source_format:
            raise SyncError(f"{hot_list.name} has no external source to synchronise from")
        mode = "full" if full or hot_list.needs_full_resync else "incremental"
        source, fmt, mapping = hot_list.source, hot_list.source_format, dict(hot_list.column_mapping)
        etag, default_reason = (None if mode == "full" else hot_list.source_etag), hot_list.name
    try:
        text, new_tag = fetch(source, etag)
        parsed = parse(text, fmt, mapping, default_reason) if text is not None else None
        return _commit_sync(system, list_key, actor, mode, started, parsed, new_tag)
    except SyncError as exc:
        _record_failure(system, list_key, actor, mode, started, str(exc))
    with system.sessions() as session:
        return session.scalars(select(HotListSync).order_by(HotListSync.id.desc()).limit(1)).one()


def _commit_sync(
    system: System,
    list_key: str,
    actor: audit.Actor,
    mode: str,
    started: dt.datetime,
    parsed: tuple[list[SourceRow], int] | None,
    new_tag: str | None,
) -> HotListSync:
    with transaction(system.sessions) as session:
        hot_list = get_list(session, list_key)
        counts, rows, rejected = Counts(), 0, 0
        if parsed is not None:
            counts = apply_rows(session, hot_list, parsed[0])
            rows, rejected = len(parsed[0]), parsed[1]
        now = utcnow()
        hot_list.last_sync_at = hot_list.last_success_at = now
        hot_list.last_error, hot_list.needs_full_resync, hot_list.source_etag = None, False, new_tag
        hot_list.next_sync_at = _next(hot_list, now)
        record = HotListSync(
            list_id=hot_list.id, started_at=started, finished_at=now, mode=mode,
            outcome="ok" if parsed is not None else "unchanged", rows=rows, added=counts.added,
            updated=counts.updated, removed=counts.removed, rejected=rejected,
        )  # fmt: skip
        session.add(record)
        details = {"mode": mode, "rows": rows, "added": counts.added, "updated": counts.updated,
                   "removed": counts.removed, "rejected": rejected}  # fmt: skip
        audit.record(session, audit.Event("hotlist.sync", actor, target=f"hotlist:{list_key}", details=details))
        return record


def configure_external(
    session: Session,
    actor: audit.Actor,
    hot_list: HotList,
    *,
    source: str,
    source_format: str,
    mapping: dict[str, Any],
    interval_minutes: int | None,
) -> None:
    """Set an external list's source, mapping and schedule; the next sync is a full one."""
    check_mapping(source_format, mapping)
    if not source.startswith(("https://", "http://", "/")):
        raise SyncError("the source must be an https:// URL or an absolute file path")
    hot_list.source, hot_list.source_format, hot_list.column_mapping = source, source_format, mapping
    hot_list.sync_interval_minutes, hot_list.needs_full_resync = interval_minutes, True
    hot_list.next_sync_at = utcnow()
    details = {"source": source, "format": source_format, "mapping": mapping, "interval_minutes": interval_minutes}
    audit.record(session, audit.Event("hotlist.create", actor, target=f"hotlist:{hot_list.key}", details=details))


def sync_due(system: System, now: dt.datetime | None = None) -> list[HotListSync]:
    """Every external list whose scheduled time has come (the server's scheduler, or cron via the CLI)."""
    now = now or utcnow()
    with system.sessions() as session:
        keys = list(
            session.scalars(
                select(HotList.key).where(
                    HotList.kind == "external", HotList.active.is_(True), HotList.next_sync_at <= now
                )
            )
        )
    return [sync(system, key) for key in keys]


def history(session: Session, hot_list: HotList, limit: int = 20) -> Sequence[HotListSync]:
    return session.scalars(
        select(HotListSync).where(HotListSync.list_id == hot_list.id).order_by(HotListSync.id.desc()).limit(limit)
    ).all()
