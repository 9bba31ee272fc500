"""Day partitions of plate_read on PostgreSQL (migration 0004). SQLite keeps one plain table.

A read of a day that has no partition yet lands in ``plate_read_default``, so
ingest never fails; ``ensure_days`` creates the day partitions ahead of the data
(at start-up for the coming days, and by the bulk loader for the days it loads)
and moves any rows the default partition caught for those days into them.
Purging a day (retention) then becomes dropping its partition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Engine, text

# The SQL function lives in the database (created by migration 0004) so that any client can call it.
ENSURE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION platekeeper_read_partition(day date) RETURNS boolean AS $$
DECLARE
    name text := format('plate_read_p%s', to_char(day, 'YYYYMMDD'));
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- One creator at a time per day; the loser finds the partition there and returns.
    PERFORM pg_advisory_xact_lock(hashtext('platekeeper_read_partition'), (day - date '2000-01-01'));
    IF to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE plate_read INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    -- Rows the default partition caught for this day move into the new partition before it is attached
    -- (no foreign key points at plate_read rows on PostgreSQL, so moving them breaks nothing).
    EXECUTE format(
        'WITH moved AS (DELETE FROM plate_read_default WHERE capture_day = %L RETURNING *) '
        'INSERT INTO %I SELECT * FROM moved', day, name);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (capture_day >= %L AND capture_day < %L)',
                   name, name || '_day', day, day + 1);
    EXECUTE format('ALTER TABLE plate_read ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, day, day + 1);
    -- The CHECK let ATTACH skip its validation scan; the partition bound now says the same.
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', name, name || '_day');
    RETURN true;
END;
$$ LANGUAGE plpgsql;
"""

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

AHEAD_DAYS = 7


def is_partitioned(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def ensure_days(engine: Engine, days: Iterable[dt.date]) -> int:
    """Create the day partitions that are missing; returns how many were created. No-op on SQLite."""
    if not is_partitioned(engine):
        return 0
    wanted = sorted(set(days))
    if not wanted:
        return 0
    with engine.connect() as conn:  # one catalog look-up finds the days still missing (usually none)
        missing = conn.execute(
            text(
                "SELECT d FROM unnest(CAST(:days AS date[])) AS d "
                "WHERE to_regclass(format('plate_read_p%s', to_char(d, 'YYYYMMDD'))) IS NULL ORDER BY d"
            ),
            {"days": wanted},
        ).scalars()
        wanted = list(missing)
    created = 0
    for day in wanted:
        with engine.begin() as conn:  # one short transaction per day: ATTACH locks the parent briefly
            created += bool(conn.execute(text("SELECT platekeeper_read_partition(:d)"), {"d": day}).scalar())
    return created


def ensure_ahead(engine: Engine, today: dt.date | None = None) -> int:
    """Yesterday to a week ahead (camera clocks straddle midnight UTC)."""
    today = today or dt.datetime.now(dt.UTC).date()
    return ensure_days(engine, (today + dt.timedelta(days=i) for i in range(-1, AHEAD_DAYS + 1)))
