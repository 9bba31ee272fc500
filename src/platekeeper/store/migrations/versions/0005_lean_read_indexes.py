"""lean read indexes on PostgreSQL: fewer index entries written per read (bulk ingest, issue 5)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

Every read costs one entry in each index of its day partition, and index
maintenance is most of what the server spends on ingest. On PostgreSQL:

- ``ix_plate_read_plate_captured`` goes: every plate look-up (search, top guesses
  and alternatives alike) goes through read_plate's key indexes since 0004, and
  nothing queries plate_read by plate; its random keys made it one of the
  costlier indexes to keep up.
- ``uq_plate_read_camera_client_read`` becomes a partial unique index over the
  reads that carry a client read id: NULLs never conflicted anyway, so it
  enforces exactly the same, and reads without one (bulk imports) no longer
  write an entry. The de-duplicating look-up (camera_id, client_read_id IN ...)
  implies the index's predicate, so it still uses it.

SQLite (the embedded default, small) keeps its indexes as they are.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_plate_read_plate_captured")
    op.execute("ALTER TABLE plate_read DROP CONSTRAINT IF EXISTS uq_plate_read_camera_client_read")
    op.execute(
        "CREATE UNIQUE INDEX uq_plate_read_camera_client_read ON plate_read (camera_id, client_read_id, capture_day) "
        "WHERE client_read_id IS NOT NULL"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS uq_plate_read_camera_client_read")
    op.execute(
        "ALTER TABLE plate_read ADD CONSTRAINT uq_plate_read_camera_client_read "
        "UNIQUE (camera_id, client_read_id, capture_day)"
    )
    op.execute("CREATE INDEX ix_plate_read_plate_captured ON plate_read (plate, captured_at)")
