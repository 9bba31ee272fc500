"""access and audit: training records, approval, lockout, TOTP, role grants, scoped API keys, audit samples

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Accounts that existed before this revision have no training record and no approval:
under ACC-1 they cannot sign in until both are recorded (`platekeeper users train`,
`platekeeper users approve`). Camera keys move into the new ``api_key`` table unchanged,
so cameras keep working.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# AUD-3: a signed-off audit sample is a record; the database refuses to change or remove it or its findings.
PG_SAMPLE_GUARD = """
CREATE OR REPLACE FUNCTION platekeeper_signed_off_sample() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit sample % is signed off: % refused', OLD.id, TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_sample_frozen BEFORE UPDATE OR DELETE ON audit_sample
    FOR EACH ROW WHEN (OLD.signed_off_at IS NOT NULL) EXECUTE FUNCTION platekeeper_signed_off_sample();
CREATE OR REPLACE FUNCTION platekeeper_signed_off_item() RETURNS trigger AS $$
BEGIN
    IF (SELECT signed_off_at FROM audit_sample WHERE id = OLD.sample_id) IS NOT NULL THEN
        RAISE EXCEPTION 'audit sample % is signed off: % of a finding refused', OLD.sample_id, TG_OP;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_sample_item_frozen BEFORE UPDATE OR DELETE ON audit_sample_item
    FOR EACH ROW EXECUTE FUNCTION platekeeper_signed_off_item();
"""
SQLITE_SAMPLE_GUARD = [
    """CREATE TRIGGER audit_sample_frozen_update BEFORE UPDATE ON audit_sample WHEN OLD.signed_off_at IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'audit sample is signed off: UPDATE refused'); END""",
    """CREATE TRIGGER audit_sample_frozen_delete BEFORE DELETE ON audit_sample WHEN OLD.signed_off_at IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'audit sample is signed off: DELETE refused'); END""",
    """CREATE TRIGGER audit_sample_item_frozen_update BEFORE UPDATE ON audit_sample_item
       WHEN (SELECT signed_off_at FROM audit_sample WHERE id = OLD.sample_id) IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'audit sample is signed off: UPDATE of a finding refused'); END""",
    """CREATE TRIGGER audit_sample_item_frozen_delete BEFORE DELETE ON audit_sample_item
       WHEN (SELECT signed_off_at FROM audit_sample WHERE id = OLD.sample_id) IS NOT NULL
       BEGIN SELECT RAISE(ABORT, 'audit sample is signed off: DELETE of a finding refused'); END""",
]


def _guard_samples() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_SAMPLE_GUARD)
    else:
        for statement in SQLITE_SAMPLE_GUARD:
            op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "audit_sample",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("requested_size", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("drawn_by", sa.String(length=200), nullable=False),
        sa.Column("drawn_by_unit", sa.String(length=200), nullable=True),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("conclusion", sa.Text(), nullable=True),
        sa.Column("signed_off_by", sa.String(length=200), nullable=True),
        sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_sample")),
    )
    op.create_table(
        "role_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("permission", sa.String(length=64), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grant")),
        sa.UniqueConstraint("role", "permission", name="uq_role_grant_role_permission"),
    )
    op.create_table(
        "audit_sample_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("audit_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("assessment", sa.String(length=16), nullable=True),
        sa.Column("finding", sa.Text(), nullable=True),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["sample_id"],
            ["audit_sample.id"],
            name=op.f("fk_audit_sample_item_sample_id_audit_sample"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_sample_item")),
        sa.UniqueConstraint("sample_id", "audit_seq", name="uq_audit_sample_item_sample_seq"),
    )
    with op.batch_alter_table("audit_sample_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_sample_item_sample_id"), ["sample_id"], unique=False)

    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["camera.id"], name=op.f("fk_api_key_camera_id_camera"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_key_prefix")),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_camera_id"), ["camera_id"], unique=False)

    op.create_table(
        "training_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("trainer", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_training_record_user_id_app_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_record")),
    )
    with op.batch_alter_table("training_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_record_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("approved_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("approved_by_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("disabled_reason", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("totp_secret_enc", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("totp_enrolled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_app_user_approved_by_id_app_user"), "app_user", ["approved_by_id"], ["id"]
        )

    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=16), nullable=False, server_default="full"))

    op.create_index("ix_audit_event_occurred_at", "audit_event", ["occurred_at"], unique=False)

    op.execute(
        "INSERT INTO api_key (prefix, secret_hash, label, scopes, camera_id, created_at, created_by) "
        "SELECT api_key_prefix, api_key_hash, 'camera ' || key, '[\"reads.ingest\"]', id, created_at, 'migration 0002' "
        "FROM camera WHERE api_key_prefix IS NOT NULL AND api_key_hash IS NOT NULL"
    )
    with op.batch_alter_table("camera", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_camera_api_key_prefix"))
        batch_op.drop_column("api_key_hash")
        batch_op.drop_column("api_key_prefix")

    _guard_samples()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_sample_frozen ON audit_sample")
        op.execute("DROP TRIGGER IF EXISTS audit_sample_item_frozen ON audit_sample_item")
        op.execute("DROP FUNCTION IF EXISTS platekeeper_signed_off_sample()")
        op.execute("DROP FUNCTION IF EXISTS platekeeper_signed_off_item()")
    with op.batch_alter_table("camera", schema=None) as batch_op:
        batch_op.add_column(sa.Column("api_key_prefix", sa.VARCHAR(length=16), nullable=True))
        batch_op.add_column(sa.Column("api_key_hash", sa.VARCHAR(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_camera_api_key_prefix"), ["api_key_prefix"], unique=False)
    op.execute(
        "UPDATE camera SET "
        "api_key_prefix = (SELECT prefix FROM api_key k WHERE k.camera_id = camera.id AND k.revoked_at IS NULL "
        "ORDER BY k.id DESC LIMIT 1), "
        "api_key_hash = (SELECT secret_hash FROM api_key k WHERE k.camera_id = camera.id AND k.revoked_at IS NULL "
        "ORDER BY k.id DESC LIMIT 1)"
    )

    op.drop_index("ix_audit_event_occurred_at", table_name="audit_event")
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_column("stage")

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_app_user_approved_by_id_app_user"), type_="foreignkey")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enrolled_at")
        batch_op.drop_column("totp_secret_enc")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("disabled_reason")
        batch_op.drop_column("disabled_at")
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approved_by_name")
        batch_op.drop_column("approved_by_id")
        batch_op.drop_column("last_seen_at")
        batch_op.drop_column("created_by")

    with op.batch_alter_table("training_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_record_user_id"))

    op.drop_table("training_record")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_camera_id"))

    op.drop_table("api_key")
    with op.batch_alter_table("audit_sample_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_sample_item_sample_id"))

    op.drop_table("audit_sample_item")
    op.drop_table("role_grant")
    op.drop_table("audit_sample")
