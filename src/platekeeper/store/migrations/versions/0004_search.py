"""search and investigations: plate index, grid cells, day partitions, evidence exports and holds

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

PostgreSQL: plate_read becomes a table partitioned by capture_day (primary key
(id, capture_day), a default partition so ingest never fails, day partitions
created ahead by ``platekeeper_read_partition``), with BRIN on captured_at and a
(cell, captured_at) index for radius queries; read_plate gets a pg_trgm GIN
index for partial plates. read_image keeps (read_id, capture_day) but no foreign
key on PostgreSQL: a foreign key into a partitioned table would block moving and
dropping partitions. SQLite keeps one plain table, with the composite foreign key.
"""

import json

import sqlalchemy as sa
from alembic import op

from platekeeper.policy.geo import CELL_DEG, cell_of
from platekeeper.policy.plate_patterns import CONFUSABLES, plate_key
from platekeeper.store.partitions import READS_FUNCTION

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The day-partition function as this migration created it (0006 replaces it with the week version).
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

COLUMNS = 360 * 200  # = round(360 / CELL_DEG), as in policy/geo.py
assert round(360 / CELL_DEG) == COLUMNS
FOLD_FROM = "".join(CONFUSABLES)
FOLD_TO = "".join(CONFUSABLES.values())

PG_PARTITIONED_READS = """
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
    CONSTRAINT uq_plate_read_camera_client_read UNIQUE (camera_id, client_read_id, capture_day),
    CONSTRAINT fk_plate_read_agency_id_agency FOREIGN KEY (agency_id) REFERENCES agency (id),
    CONSTRAINT fk_plate_read_camera_id_camera FOREIGN KEY (camera_id) REFERENCES camera (id)
) PARTITION BY RANGE (capture_day)
"""
READ_COLUMNS = (
    "id, uid, client_read_id, agency_id, camera_id, plate, confidence, candidates, region, box, captured_at, "
    "capture_day, received_at, latitude, longitude, vehicle_colour, vehicle_make, vehicle_type, source"
)
PG_CELL = (
    f"(floor((latitude + 90.0) / {CELL_DEG})::bigint * {COLUMNS} "
    f"+ mod(floor((longitude + 180.0) / {CELL_DEG})::bigint, {COLUMNS}))"
)
PG_BACKFILL_PLATES = """
INSERT INTO read_plate (read_id, plate, capture_day, captured_at, agency_id, camera_id, plate_key, plate_rkey,
                        is_top)
SELECT DISTINCT ON (r.id, t.plate) r.id, t.plate, r.capture_day, r.captured_at, r.agency_id, r.camera_id,
       translate(t.plate, 'FOLD_FROM', 'FOLD_TO'), reverse(translate(t.plate, 'FOLD_FROM', 'FOLD_TO')),
       t.plate = r.plate
FROM plate_read r
CROSS JOIN LATERAL (
    SELECT r.plate AS plate
    UNION ALL
    SELECT c ->> 'plate' FROM json_array_elements(r.candidates) AS c WHERE coalesce(c ->> 'plate', '') <> ''
) AS t
ORDER BY r.id, t.plate
""".replace("FOLD_FROM", FOLD_FROM).replace("FOLD_TO", FOLD_TO)


def _create_search_tables(postgres: bool) -> None:
    text_c = sa.String(length=16, collation="C") if postgres else sa.String(length=16)
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "read_plate",
        sa.Column("read_id", big, nullable=False),
        sa.Column("plate", text_c, nullable=False),
        sa.Column("capture_day", sa.Date(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("plate_key", text_c, nullable=False),
        sa.Column("plate_rkey", text_c, nullable=False),
        sa.Column("is_top", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("read_id", "plate", name=op.f("pk_read_plate")),
    )
    op.create_index("ix_read_plate_key_captured", "read_plate", ["plate_key", "captured_at"])
    op.create_index("ix_read_plate_rkey_captured", "read_plate", ["plate_rkey", "captured_at"])
    op.create_table(
        "evidence_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("agency", sa.String(length=200), nullable=True),
        sa.Column("unit", sa.String(length=200), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=True),
        sa.Column("no_case_reason", sa.String(length=500), nullable=True),
        sa.Column("presumed_crime", sa.String(length=500), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("read_uids", sa.JSON(), nullable=False),
        sa.Column("images_included", sa.Boolean(), nullable=False),
        sa.Column("package_sha256", sa.String(length=64), nullable=False),
        sa.Column("package_bytes", big, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_export")),
        sa.UniqueConstraint("uid", name=op.f("uq_evidence_export_uid")),
    )
    op.create_index(op.f("ix_evidence_export_created_at"), "evidence_export", ["created_at"])
    op.create_table(
        "read_hold",
        sa.Column("id", big, nullable=False),
        sa.Column("read_id", big, nullable=False),
        sa.Column("read_uid", sa.String(length=36), nullable=False),
        sa.Column("capture_day", sa.Date(), nullable=False),
        sa.Column("export_id", sa.Integer(), nullable=True),
        sa.Column("case_number", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.String(length=200), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["export_id"], ["evidence_export.id"], name=op.f("fk_read_hold_export_id_evidence_export")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_read_hold")),
    )
    op.create_index("ix_read_hold_day", "read_hold", ["capture_day"])
    op.create_index(op.f("ix_read_hold_read_id"), "read_hold", ["read_id"])


# ---- PostgreSQL ---------------------------------------------------------------------------------------------------
def _pg_partition_reads() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("ALTER TABLE read_image DROP CONSTRAINT IF EXISTS fk_read_image_read_id_plate_read")
    op.execute("ALTER TABLE plate_read RENAME TO plate_read_old")
    for name in ("pk_plate_read", "uq_plate_read_uid", "uq_plate_read_camera_client_read"):
        op.execute(f"ALTER TABLE plate_read_old DROP CONSTRAINT IF EXISTS {name}")
    for name in ("ix_plate_read_capture_day", "ix_plate_read_captured", "ix_plate_read_plate_captured"):
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("ALTER SEQUENCE plate_read_id_seq OWNED BY NONE")
    op.execute(PG_PARTITIONED_READS)
    op.execute("CREATE TABLE plate_read_default PARTITION OF plate_read DEFAULT")
    op.execute("ALTER SEQUENCE plate_read_id_seq OWNED BY plate_read.id")
    op.execute(ENSURE_FUNCTION)
    op.execute(READS_FUNCTION)
    op.execute("SELECT platekeeper_read_partition(d) FROM (SELECT DISTINCT capture_day AS d FROM plate_read_old) s")
    op.execute(
        f"INSERT INTO plate_read ({READ_COLUMNS}, cell) SELECT {READ_COLUMNS}, {PG_CELL} FROM plate_read_old"  # noqa: S608 (constants)
    )
    op.execute("DROP TABLE plate_read_old")
    op.execute("CREATE INDEX ix_plate_read_plate_captured ON plate_read (plate, captured_at)")
    # Newest-first listing needs ordered time; BRIN serves the time windows of canvasses at a tiny size.
    op.execute("CREATE INDEX ix_plate_read_captured ON plate_read (captured_at)")
    op.execute("CREATE INDEX ix_plate_read_captured_brin ON plate_read USING brin (captured_at)")
    op.execute("CREATE INDEX ix_plate_read_cell_captured ON plate_read (cell, captured_at)")


def _pg_upgrade() -> None:
    _pg_partition_reads()
    _create_search_tables(postgres=True)
    op.execute("CREATE INDEX ix_read_plate_plate_trgm ON read_plate USING gin (plate gin_trgm_ops)")
    op.execute("CREATE INDEX ix_read_plate_day_brin ON read_plate USING brin (capture_day)")
    op.execute(PG_BACKFILL_PLATES)


# ---- SQLite -------------------------------------------------------------------------------------------------------
def _sqlite_upgrade() -> None:
    with op.batch_alter_table("plate_read") as batch:
        batch.add_column(sa.Column("cell", sa.Integer(), nullable=True))
        batch.create_unique_constraint("uq_plate_read_id_day", ["id", "capture_day"])
        batch.create_index("ix_plate_read_cell_captured", ["cell", "captured_at"])
    with op.batch_alter_table("read_image") as batch:
        batch.drop_constraint("fk_read_image_read_id_plate_read", type_="foreignkey")
        batch.create_foreign_key(
            "fk_read_image_read_plate_read",
            "plate_read",
            ["read_id", "capture_day"],
            ["id", "capture_day"],
            ondelete="CASCADE",
        )
    _create_search_tables(postgres=False)
    _sqlite_backfill()


def _candidate_plates(plate: str, candidates: object) -> list[str]:
    if isinstance(candidates, str):
        candidates = json.loads(candidates)
    texts = [plate] + [str(c.get("plate", "")) for c in candidates or [] if isinstance(c, dict)]
    return list(dict.fromkeys(t for t in texts if t))


def _sqlite_backfill() -> None:
    """Embedded installs are small: the rows are indexed in Python with the same functions as ingest."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, plate, candidates, capture_day, captured_at, agency_id, camera_id, latitude, longitude "
            "FROM plate_read"
        )
    ).all()
    for row in rows:
        bind.execute(
            sa.text("UPDATE plate_read SET cell = :cell WHERE id = :id"),
            {"cell": cell_of(row.latitude, row.longitude), "id": row.id},
        )
        for text in _candidate_plates(row.plate, row.candidates):
            bind.execute(
                sa.text(
                    "INSERT INTO read_plate (read_id, plate, capture_day, captured_at, agency_id, camera_id, "
                    "plate_key, plate_rkey, is_top) VALUES (:r, :p, :d, :t, :a, :c, :k, :rk, :top)"
                ),
                {
                    "r": row.id,
                    "p": text,
                    "d": row.capture_day,
                    "t": row.captured_at,
                    "a": row.agency_id,
                    "c": row.camera_id,
                    "k": plate_key(text),
                    "rk": plate_key(text)[::-1],
                    "top": text == row.plate,
                },
            )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    # Going back keeps the reads but not the partitioning, the plate index or the evidence records.
    op.drop_table("read_hold")
    op.drop_table("evidence_export")
    op.drop_table("read_plate")
    if op.get_bind().dialect.name == "postgresql":
        raise NotImplementedError("un-partitioning plate_read is not supported: restore the pre-0004 backup")
    with op.batch_alter_table("read_image") as batch:
        batch.drop_constraint("fk_read_image_read_plate_read", type_="foreignkey")
        batch.create_foreign_key(
            "fk_read_image_read_id_plate_read", "plate_read", ["read_id"], ["id"], ondelete="CASCADE"
        )
    with op.batch_alter_table("plate_read") as batch:
        batch.drop_index("ix_plate_read_cell_captured")
        batch.drop_constraint("uq_plate_read_id_day", type_="unique")
        batch.drop_column("cell")
