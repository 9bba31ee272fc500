"""week partitions of plate_read; trigram index for suffix wildcards; models aligned (issue 5)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

PostgreSQL:

- ``plate_read`` is partitioned by week (Monday to Sunday of ``capture_day``,
  ``plate_read_wYYYYMMDD``) instead of by day: about 53 partitions for a year
  instead of 366. A search result page fetches its reads through
  ``platekeeper_reads``, whose generic plan locks and starts every partition
  (PostgreSQL 15): that was half of an exact search's server time. Retention
  still purges by day (``store.partitions.purge_before``: wholly expired weeks
  are dropped, the expired days of the oldest week deleted). The rows are copied
  into the new table; the function that creates partitions becomes the weekly
  one (same name and signature).
- ``read_plate``'s reversed-key index goes: a pattern fixed only at its end
  (``*1234``) uses the trigram index, which every infix pattern needs anyway
  (a few ms at a million reads), and ingest keeps one B-tree fewer per plate
  text. The column stays (SQLite still indexes it; the loaders write it).

SQLite (the embedded default) drops ``ix_plate_read_plate_captured``, which
nothing has queried since 0004 (PostgreSQL dropped it in 0005), and its
client-read-id unique constraint becomes the same partial unique index as on
PostgreSQL since 0005 (no entry for reads without a client id). The models
(store/models.py) now declare exactly this schema.
"""

import sqlalchemy as sa
from alembic import op

from platekeeper.store.partitions import READS_FUNCTION, WEEK_PARTITION_FUNCTION

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = (
    "id, uid, client_read_id, agency_id, camera_id, plate, confidence, candidates, region, box, captured_at, "
    "capture_day, received_at, latitude, longitude, vehicle_colour, vehicle_make, vehicle_type, source, cell"
)
PG_WEEKLY_READS = """
CREATE TABLE plate_read (
    id bigint NOT NULL DEFAULT nextval('plate_read_id_seq'),
    uid varchar(36) NOT NULL,
    client_read_id varchar(128),
    agency_id integer NOT NULL,
    camera_id integer NOT NULL,
    plate varchar(16) NOT NULL,
    confidence double precision NOT NULL,
    candidates json NOT NULL,
    region varchar(16),
    box json,
    captured_at timestamptz NOT NULL,
    capture_day date NOT NULL,
    received_at timestamptz NOT NULL,
    latitude double precision,
    longitude double precision,
    vehicle_colour varchar(32),
    vehicle_make varchar(64),
    vehicle_type varchar(64),
    source varchar(32) NOT NULL,
    cell bigint,
    CONSTRAINT pk_plate_read PRIMARY KEY (id, capture_day),
    CONSTRAINT uq_plate_read_uid UNIQUE (uid, capture_day),
    CONSTRAINT fk_plate_read_agency_id_agency FOREIGN KEY (agency_id) REFERENCES agency (id),
    CONSTRAINT fk_plate_read_camera_id_camera FOREIGN KEY (camera_id) REFERENCES camera (id)
) PARTITION BY RANGE (capture_day)
"""
PG_INDEXES = (
    "CREATE INDEX ix_plate_read_captured ON plate_read (captured_at)",
    "CREATE INDEX ix_plate_read_captured_brin ON plate_read USING brin (captured_at)",
    "CREATE INDEX ix_plate_read_cell_captured ON plate_read (cell, captured_at)",
    "CREATE UNIQUE INDEX uq_plate_read_camera_client_read ON plate_read (camera_id, client_read_id, capture_day) "
    "WHERE client_read_id IS NOT NULL",
)


def _pg_upgrade() -> None:
    # The reads function returns the table's row type: it goes first, and comes back over the new table.
    op.execute("DROP FUNCTION IF EXISTS platekeeper_reads(bigint[], date[])")
    op.execute("ALTER TABLE plate_read RENAME TO plate_read_days")
    op.execute("ALTER TABLE plate_read_default RENAME TO plate_read_days_default")
    for name in ("pk_plate_read", "uq_plate_read_uid"):
        op.execute(f"ALTER TABLE plate_read_days DROP CONSTRAINT IF EXISTS {name}")
    for name in (
        "ix_plate_read_captured",
        "ix_plate_read_captured_brin",
        "ix_plate_read_cell_captured",
        "uq_plate_read_camera_client_read",
    ):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for name in ("fk_plate_read_agency_id_agency", "fk_plate_read_camera_id_camera"):
        op.execute(f"ALTER TABLE plate_read_days DROP CONSTRAINT IF EXISTS {name}")
    op.execute("ALTER SEQUENCE plate_read_id_seq OWNED BY NONE")
    op.execute(PG_WEEKLY_READS)
    op.execute("CREATE TABLE plate_read_default PARTITION OF plate_read DEFAULT")
    op.execute("ALTER SEQUENCE plate_read_id_seq OWNED BY plate_read.id")
    op.execute(WEEK_PARTITION_FUNCTION)
    op.execute(READS_FUNCTION)
    op.execute(
        "SELECT platekeeper_read_partition(w) FROM "
        "(SELECT DISTINCT date_trunc('week', capture_day)::date AS w FROM plate_read_days) s"
    )
    op.execute(f"INSERT INTO plate_read ({COLUMNS}) SELECT {COLUMNS} FROM plate_read_days")  # noqa: S608
    op.execute("DROP TABLE plate_read_days")  # and its day partitions
    for statement in PG_INDEXES:  # after the copy: one sort per index instead of a row at a time
        op.execute(statement)
    op.execute("DROP INDEX IF EXISTS ix_read_plate_rkey_captured")


def _sqlite_upgrade() -> None:
    op.drop_index("ix_plate_read_plate_captured", table_name="plate_read")
    with op.batch_alter_table("plate_read") as batch:
        batch.drop_constraint("uq_plate_read_camera_client_read", type_="unique")
    op.create_index(
        "uq_plate_read_camera_client_read",
        "plate_read",
        ["camera_id", "client_read_id"],
        unique=True,
        sqlite_where=sa.text("client_read_id IS NOT NULL"),
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        raise NotImplementedError("going back to day partitions is not supported: restore the pre-0006 backup")
    op.drop_index("uq_plate_read_camera_client_read", table_name="plate_read")
    with op.batch_alter_table("plate_read") as batch:
        batch.create_unique_constraint("uq_plate_read_camera_client_read", ["camera_id", "client_read_id"])
    op.create_index("ix_plate_read_plate_captured", "plate_read", ["plate", "captured_at"])
