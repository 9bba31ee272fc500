"""The search store's schema: models match the migrations, week partitions, purge by day (issue 5, RET-1)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text

from platekeeper.services.search_load import BulkRead
from platekeeper.settings import Settings
from platekeeper.store import db as store_db
from platekeeper.store.db import transaction
from platekeeper.store.ids import uuid7
from platekeeper.store.models import Base, Read, ReadHold, ReadPlate
from platekeeper.store.partitions import partition_name, purge_before, week_start
from platekeeper.system import System
from tests.test_search import START, load_city

# Where PostgreSQL's schema differs from the models on purpose (the models are the SQLite schema, which
# create_all would make): partitioning puts capture_day into the primary and unique keys, indexes only
# PostgreSQL has (BRIN, trigrams), no foreign key into the partitioned table, the day index the partitions
# replace, and the reversed-key index the trigram index replaces (0006).
POSTGRES_ONLY = {
    ("remove_index", "ix_plate_read_captured_brin"),
    ("remove_index", "ix_read_plate_day_brin"),
    ("remove_index", "ix_read_plate_plate_trgm"),
    ("remove_index", "uq_plate_read_camera_client_read"),  # (camera_id, client_read_id, capture_day)
    ("add_index", "uq_plate_read_camera_client_read"),  # the models' (camera_id, client_read_id)
    ("remove_constraint", "uq_plate_read_uid"),  # (uid, capture_day)
    ("add_constraint", "uq_plate_read_uid"),
    ("add_constraint", "uq_plate_read_id_day"),  # the primary key (id, capture_day) says it
    ("add_index", "ix_plate_read_capture_day"),
    ("add_index", "ix_read_plate_rkey_captured"),
    ("add_fk", "fk_read_image_read_plate_read"),
}


# Reflected unique constraints come without names on some dialects: named here by their columns.
UNNAMED = {
    ("uid",): "uq_plate_read_uid",
    ("uid", "capture_day"): "uq_plate_read_uid",
    ("id", "capture_day"): "uq_plate_read_id_day",
    ("camera_id", "client_read_id"): "uq_plate_read_camera_client_read",
}


def _differences(system: System) -> set[tuple[str, str]]:
    def include(obj: object, name: str | None, kind: str, reflected: bool, compare_to: object) -> bool:
        # The partitions are the parent table's storage, not tables of their own.
        return not (kind == "table" and name is not None and name.startswith("plate_read_") and reflected)

    with system.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include, "compare_type": False})
        diffs = compare_metadata(context, Base.metadata)
    found = set()
    for diff in diffs:
        if isinstance(diff, list):  # column modifications come as lists
            found.update((d[0], f"{d[2]}.{d[3]}") for d in diff)
            continue
        obj = diff[1]
        name = getattr(obj, "name", None)
        if name is None and diff[0] in ("add_constraint", "remove_constraint"):
            columns = tuple(c.name for c in obj.columns)  # type: ignore[attr-defined]
            name = UNNAMED.get(columns, str(columns))
        if diff[0] == "add_fk":
            name = obj.name  # type: ignore[attr-defined]
        found.add((diff[0], str(name)))
    return found


def test_the_models_declare_the_migrated_schema(system: System) -> None:
    differences = _differences(system)
    if system.engine.dialect.name == "postgresql":
        assert differences <= POSTGRES_ONLY, differences - POSTGRES_ONLY
    else:
        assert differences == set()


def test_sqlite_client_read_ids_are_unique_per_camera_and_optional(system: System) -> None:
    if system.engine.dialect.name != "sqlite":
        pytest.skip("the SQLite index")
    with system.engine.connect() as conn:
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'uq_plate_read_camera_client_read'"
        ).scalar_one()
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM plate_read WHERE camera_id = 1 AND client_read_id IN ('a', 'b')"
        ).all()
    assert "UNIQUE" in sql and "WHERE client_read_id IS NOT NULL" in sql
    assert any("uq_plate_read_camera_client_read" in str(row) for row in plan), plan


def test_read_uids_are_time_ordered_uuids() -> None:
    first, later = uuid7(1_700_000_000_000), uuid7(1_700_000_000_001)
    assert first.version == 7 and str(first) < str(later)
    assert len({uuid7(5) for _ in range(100)}) == 100


@pytest.mark.req("RET-1")
def test_purge_is_by_day_though_partitions_are_weeks(system: System) -> None:
    """Reads before the cutoff day go, with their plate-index rows, except reads under an active hold (RET-2);
    on PostgreSQL a week wholly expired is dropped, the expired days of a partly expired week deleted."""
    data = load_city(system, reads=600)  # 2026-03-01 (a Sunday) to 03-10: three weeks
    cutoff = START + dt.timedelta(days=3)  # Wednesday 03-04: the first week is expired, two days of the second
    held_read = next(r for r in data.reads if r.captured_at.date() == START)
    with transaction(system.sessions) as session:
        read = session.scalars(select(Read).where(Read.uid == held_read.uid)).one()
        hold = ReadHold(read_id=read.id, read_uid=read.uid, capture_day=read.capture_day, case_number="26-1",
                        reason="evidence", placed_by="Lt. Reviewer")  # fmt: skip
        session.add(hold)
    expected = sum(1 for r in data.reads if r.captured_at.date() < cutoff) - 1
    with system.engine.begin() as conn:
        purged = purge_before(conn, cutoff)
    assert (purged.reads, purged.dropped, purged.held) == (expected, (), 1)  # the held read keeps its week
    _assert_left(system, data.reads, cutoff, keep={held_read.uid})

    with transaction(system.sessions) as session:
        session.get(ReadHold, hold.id).released_at = dt.datetime.now(dt.UTC)  # type: ignore[union-attr]
    with system.engine.begin() as conn:
        purged = purge_before(conn, cutoff)
    assert purged.reads == 1 and purged.held == 0
    if system.engine.dialect.name == "postgresql":
        assert purged.dropped == (partition_name(START),) == ("plate_read_w20260223",)
    _assert_left(system, data.reads, cutoff, keep=set())


def _assert_left(system: System, loaded: list[BulkRead], cutoff: dt.date, keep: set[str]) -> None:
    wanted = {r.uid for r in loaded if r.captured_at.date() >= cutoff} | keep
    with system.sessions() as session:
        assert set(session.scalars(select(Read.uid))) == wanted
        orphans = session.scalar(
            select(func.count()).select_from(ReadPlate).where(ReadPlate.read_id.not_in(select(Read.id)))
        )
    assert orphans == 0


# ---- migration 0006 over existing reads ----------------------------------------------------------------------------
def test_0006_moves_existing_reads_into_week_partitions(settings: Settings, tmp_path: Path) -> None:
    engine = store_db.make_engine(settings.database_url)
    try:
        store_db.upgrade(engine, "0005")
        postgres = engine.dialect.name == "postgresql"
        days = [START + dt.timedelta(days=i) for i in range(9)]
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO agency (name, kind, created_at) VALUES ('PD', 'law_enforcement', :t)"),
                         {"t": dt.datetime.now(dt.UTC)})  # fmt: skip
            conn.execute(
                text("INSERT INTO camera (key, agency_id, name, kind, privacy_masks, created_at) "
                     "VALUES ('c', 1, 'C', 'fixed', '[]', :t)"),
                {"t": dt.datetime.now(dt.UTC)},
            )  # fmt: skip
            if postgres:  # as 0004/0005 left them: day partitions
                for day in days:
                    conn.execute(text("SELECT platekeeper_read_partition(:d)"), {"d": day})
            for i, day in enumerate(days):
                conn.execute(
                    text(
                        "INSERT INTO plate_read (uid, client_read_id, agency_id, camera_id, plate, confidence, "
                        "candidates, captured_at, capture_day, received_at, source) VALUES "
                        "(:u, :c, 1, 1, '7ABC123', 0.9, '[]', :t, :d, :t, 'test')"
                    ),
                    {"u": f"u{i}", "c": None if i % 2 else f"edge-{i}", "d": day,
                     "t": dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)},
                )  # fmt: skip
        store_db.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM plate_read")).scalar_one() == len(days)
            if postgres:
                parts = set(
                    conn.execute(
                        text("SELECT c.relname FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid "
                             "WHERE h.inhparent = 'plate_read'::regclass")
                    ).scalars()
                )  # fmt: skip
                assert parts == {"plate_read_default"} | {partition_name(d) for d in days}
                assert conn.execute(text("SELECT count(*) FROM plate_read_default")).scalar_one() == 0
                assert conn.execute(text("SELECT to_regclass('ix_read_plate_rkey_captured')")).scalar() is None
                assert week_start(START) == dt.date(2026, 2, 23)
        # De-duplication still holds after the move: the same client read id of the same camera is refused.
        with pytest.raises(Exception, match=r"(?i)unique|duplicate"), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO plate_read (uid, client_read_id, agency_id, camera_id, plate, confidence, "
                    "candidates, captured_at, capture_day, received_at, source) VALUES "
                    "('dup', 'edge-0', 1, 1, '7ABC123', 0.9, '[]', :t, :d, :t, 'test')"
                ),
                {"d": days[0], "t": dt.datetime.combine(days[0], dt.time(12), tzinfo=dt.UTC)},
            )
    finally:
        engine.dispose()
