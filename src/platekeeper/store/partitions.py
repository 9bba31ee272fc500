"""Week partitions of plate_read on PostgreSQL (migration 0006; 0004 made day partitions). SQLite keeps one
plain table.

A read of a week that has no partition yet lands in ``plate_read_default``, so
ingest never fails; ``ensure_days`` creates the partitions of the weeks of the
given days ahead of the data (at start-up for the coming days, and by the bulk
loader for the days it loads) and moves any rows the default partition caught
for those weeks into them. Partitions run Monday to Sunday (UTC capture days) and
are named ``plate_read_wYYYYMMDD`` after their Monday.

Retention still purges by day (``purge_before``): a partition whose every day
has expired is dropped, and the expired days of the oldest partially expired
partition are deleted from it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

# The SQL functions live in the database so that any client can call them. Migration 0004 created a day
# version of ``platekeeper_read_partition`` (its SQL stays in that migration); 0006 replaced it with the week one.

# Reads by (id, capture_day), for search results. Planning a query over the partitioned parent costs about
# 0.1-0.5 ms for every partition it may touch; a result page spans up to a few hundred days. PL/pgSQL keeps
# this query's plan for the session, and the generic plan prunes at run time (each (id, day) pair probes only
# its own day's primary key), so a call costs executor start-up, not planning. The first call on a connection,
# and the first after a partition is attached, plans it once (every partition, a few hundred ms).
READS_FUNCTION = r"""
CREATE OR REPLACE FUNCTION platekeeper_reads(ids bigint[], days date[]) RETURNS SETOF plate_read AS $$
BEGIN
    RETURN QUERY
    SELECT r.* FROM unnest(ids, days) AS v(read_id, day)
    CROSS JOIN LATERAL (
        SELECT * FROM plate_read p WHERE p.id = v.read_id AND p.capture_day = v.day OFFSET 0
    ) AS r;
END;
$$ LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan;
"""

WEEK_PARTITION_FUNCTION = r"""
CREATE OR REPLACE FUNCTION platekeeper_read_partition(day date) RETURNS boolean AS $$
DECLARE
    monday date := date_trunc('week', day)::date;
    name text := format('plate_read_w%s', to_char(date_trunc('week', day), 'YYYYMMDD'));
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- One creator at a time per week; the loser finds the partition there and returns.
    PERFORM pg_advisory_xact_lock(hashtext('platekeeper_read_partition'), (monday - date '2000-01-01'));
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE plate_read INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    -- Rows the default partition caught for this week move into the new partition before it is attached
    -- (no foreign key points at plate_read rows on PostgreSQL, so moving them breaks nothing).
    EXECUTE format(
        'WITH moved AS (DELETE FROM plate_read_default WHERE capture_day >= %L AND capture_day < %L RETURNING *) '
        'INSERT INTO %I SELECT * FROM moved', monday, monday + 7, name);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (capture_day >= %L AND capture_day < %L)',
                   name, name || '_days', monday, monday + 7);
    EXECUTE format('ALTER TABLE plate_read ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   name, monday, monday + 7);
    -- The CHECK let ATTACH skip its validation scan; the partition bound now says the same.
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', name, name || '_days');
    RETURN true;
END;
$$ LANGUAGE plpgsql;
"""

AHEAD_DAYS = 7
PARTITION_NAME_SQL = "format('plate_read_w%s', to_char(date_trunc('week', {day}), 'YYYYMMDD'))"


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week: the lower bound of its partition."""
    return day - dt.timedelta(days=day.weekday())


def partition_name(day: dt.date) -> str:
    return f"plate_read_w{week_start(day):%Y%m%d}"


def is_partitioned(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def ensure_days(engine: Engine, days: Iterable[dt.date]) -> int:
    """Create the partitions missing for these days' weeks; returns how many were created. No-op on SQLite."""
    if not is_partitioned(engine):
        return 0
    wanted = sorted({week_start(day) for day in days})
    if not wanted:
        return 0
    with engine.connect() as conn:  # one catalog look-up finds the weeks still missing (usually none)
        missing = conn.execute(
            text(
                "SELECT d FROM unnest(CAST(:days AS date[])) AS d "  # noqa: S608 (a constant expression)
                f"WHERE to_regclass({PARTITION_NAME_SQL.format(day='d')}) IS NULL ORDER BY d"
            ),
            {"days": wanted},
        ).scalars()
        wanted = list(missing)
    created = 0
    for day in wanted:
        with engine.begin() as conn:  # one short transaction per week: ATTACH locks the parent briefly
            created += bool(conn.execute(text("SELECT platekeeper_read_partition(:d)"), {"d": day}).scalar())
    return created


def ensure_ahead(engine: Engine, today: dt.date | None = None) -> int:
    """Yesterday to a week ahead (camera clocks straddle midnight UTC)."""
    today = today or dt.datetime.now(dt.UTC).date()
    return ensure_days(engine, (today + dt.timedelta(days=i) for i in range(-1, AHEAD_DAYS + 1)))


# ---- retention: purge by day, whatever the partition size ---------------------------------------------------------
@dataclass(frozen=True)
class Purged:
    reads: int  # reads deleted (in dropped partitions or row by row)
    dropped: tuple[str, ...]  # partitions dropped whole (PostgreSQL)
    held: int  # expired reads kept because an active hold names them (RET-2)


_HELD = "SELECT read_id FROM read_hold WHERE released_at IS NULL AND capture_day < :cutoff"


def purge_before(conn: Connection, cutoff: dt.date) -> Purged:
    """Delete every read captured before the UTC day ``cutoff`` (RET-1), with its plate-index rows and image
    records, except reads under an active hold (RET-2). Runs in the caller's transaction; the caller (the
    retention service) destroys the days' image keys and writes the audit record.

    PostgreSQL: a week partition whose every day is before ``cutoff`` and holds no held read is dropped whole;
    the expired days of a partition that is only partly expired (or holds a held read) are deleted row by row.
    So retention stays exact to the day with partitions of a week."""
    params = {"cutoff": cutoff}
    held = int(conn.execute(text(f"SELECT count(DISTINCT read_id) FROM ({_HELD}) h"), params).scalar_one())  # noqa: S608
    dropped: list[str] = []
    reads = 0
    if conn.dialect.name == "postgresql":
        whole = conn.execute(
            text(
                "SELECT c.relname, lower_b, upper_b FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid "
                "CROSS JOIN LATERAL (SELECT substring(pg_get_expr(c.relpartbound, c.oid) "
                "  FROM $$FROM \\('([0-9-]+)'\\)$$)::date AS lower_b, substring(pg_get_expr(c.relpartbound, c.oid) "
                "  FROM $$TO \\('([0-9-]+)'\\)$$)::date AS upper_b) b "
                "WHERE h.inhparent = 'plate_read'::regclass AND upper_b <= :cutoff "
                "AND NOT EXISTS (SELECT 1 FROM read_hold r WHERE r.released_at IS NULL "
                "  AND r.capture_day >= lower_b AND r.capture_day < upper_b) ORDER BY lower_b"
            ),
            params,
        ).all()
        for name, lower, upper in whole:
            bounds = {"lo": lower, "hi": upper}
            reads += int(conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())  # noqa: S608
            conn.execute(text("DELETE FROM read_plate WHERE capture_day >= :lo AND capture_day < :hi"), bounds)
            conn.execute(text("DELETE FROM read_image WHERE capture_day >= :lo AND capture_day < :hi"), bounds)
            conn.execute(text(f'DROP TABLE "{name}"'))
            dropped.append(name)
    # What is left before the cutoff (SQLite: everything; PostgreSQL: partly expired or held partitions).
    not_held = f"capture_day < :cutoff AND read_id NOT IN ({_HELD})"
    conn.execute(text(f"DELETE FROM read_plate WHERE {not_held}"), params)  # noqa: S608
    conn.execute(text(f"DELETE FROM read_image WHERE {not_held}"), params)  # noqa: S608
    deleted = conn.execute(text(f"DELETE FROM plate_read WHERE capture_day < :cutoff AND id NOT IN ({_HELD})"), params)  # noqa: S608
    reads += deleted.rowcount
    return Purged(reads, tuple(dropped), held)
