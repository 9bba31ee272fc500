"""hot lists and alerts: lists, entries, syncs, the version counter, alerts, channels, deliveries

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Alerts keep the read's id, uid and capture day without a foreign key: plate_read is
about to be partitioned by capture day on PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_channel")),
    )
    op.create_table(
        "hot_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=True),
        sa.Column("source_format", sa.String(length=16), nullable=True),
        sa.Column("column_mapping", sa.JSON(), nullable=False),
        sa.Column("sync_interval_minutes", sa.Integer(), nullable=True),
        sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("needs_full_resync", sa.Boolean(), nullable=False),
        sa.Column("source_etag", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hot_list")),
        sa.UniqueConstraint("key", name=op.f("uq_hot_list_key")),
    )
    op.create_table(
        "hot_list_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hot_list_version")),
    )
    op.create_table(
        "hot_list_sync",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["list_id"], ["hot_list.id"], name=op.f("fk_hot_list_sync_list_id_hot_list"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hot_list_sync")),
    )
    op.create_index(op.f("ix_hot_list_sync_list_id"), "hot_list_sync", ["list_id"], unique=False)
    op.create_table(
        "hot_list_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("wildcard", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("alert_type", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("person_description", sa.Text(), nullable=True),
        sa.Column("vehicle_description", sa.String(length=200), nullable=True),
        sa.Column("external_ref", sa.String(length=64), nullable=True),
        sa.Column("row_hash", sa.String(length=32), nullable=True),
        sa.Column("case_numbers", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=True),
        sa.Column("no_case_reason", sa.String(length=500), nullable=True),
        sa.Column("presumed_crime", sa.String(length=200), nullable=True),
        sa.Column("major_crime", sa.Boolean(), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_by_name", sa.String(length=200), nullable=True),
        sa.Column("entered_by_badge", sa.String(length=32), nullable=True),
        sa.Column("entered_by_assignment", sa.String(length=200), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("owner_name", sa.String(length=200), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_by_name", sa.String(length=200), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_on", sa.Date(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(length=200), nullable=True),
        sa.Column("removal_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("change_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["app_user.id"], name=op.f("fk_hot_list_entry_approved_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["entered_by_id"], ["app_user.id"], name=op.f("fk_hot_list_entry_entered_by_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["list_id"], ["hot_list.id"], name=op.f("fk_hot_list_entry_list_id_hot_list"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["app_user.id"], name=op.f("fk_hot_list_entry_owner_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hot_list_entry")),
    )
    op.create_index("ix_hot_list_entry_change", "hot_list_entry", ["change_seq"], unique=False)
    op.create_index("ix_hot_list_entry_list_ref", "hot_list_entry", ["list_id", "external_ref"], unique=False)
    op.create_index("ix_hot_list_entry_plate", "hot_list_entry", ["plate"], unique=False)
    op.create_table(
        "alert",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uid", sa.String(length=36), nullable=False),
        sa.Column("read_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("read_uid", sa.String(length=36), nullable=False),
        sa.Column("capture_day", sa.Date(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("read_plate", sa.String(length=16), nullable=False),
        sa.Column("matched_plate", sa.String(length=16), nullable=False),
        sa.Column("matched_on", sa.String(length=16), nullable=False),
        sa.Column("match_type", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("entry_plate", sa.String(length=16), nullable=False),
        sa.Column("entry_reason", sa.Text(), nullable=False),
        sa.Column("alert_type", sa.String(length=16), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("plate_confirmed", sa.Boolean(), nullable=True),
        sa.Column("confirmed_by", sa.String(length=200), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("clets_attempted", sa.Boolean(), nullable=False),
        sa.Column("clets_result", sa.String(length=32), nullable=True),
        sa.Column("clets_by", sa.String(length=200), nullable=True),
        sa.Column("clets_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("occupants_match", sa.Boolean(), nullable=True),
        sa.Column("action_taken", sa.Text(), nullable=True),
        sa.Column("action_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disposition", sa.String(length=32), nullable=True),
        sa.Column("disposition_note", sa.Text(), nullable=True),
        sa.Column("disposed_by", sa.String(length=200), nullable=True),
        sa.Column("disposed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["camera_id"], ["camera.id"], name=op.f("fk_alert_camera_id_camera")),
        sa.ForeignKeyConstraint(["entry_id"], ["hot_list_entry.id"], name=op.f("fk_alert_entry_id_hot_list_entry")),
        sa.ForeignKeyConstraint(["list_id"], ["hot_list.id"], name=op.f("fk_alert_list_id_hot_list")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("read_uid", "entry_id", name="uq_alert_read_entry"),
        sa.UniqueConstraint("uid", name=op.f("uq_alert_uid")),
    )
    op.create_index(op.f("ix_alert_camera_id"), "alert", ["camera_id"], unique=False)
    op.create_index("ix_alert_created", "alert", ["created_at"], unique=False)
    op.create_index(op.f("ix_alert_entry_id"), "alert", ["entry_id"], unique=False)
    op.create_index(op.f("ix_alert_read_uid"), "alert", ["read_uid"], unique=False)
    op.create_table(
        "alert_delivery",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("alert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_delivery_alert_id_alert"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["alert_channel.id"],
            name=op.f("fk_alert_delivery_channel_id_alert_channel"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"], ["app_user.id"], name=op.f("fk_alert_delivery_recipient_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_delivery")),
    )
    op.create_index(op.f("ix_alert_delivery_alert_id"), "alert_delivery", ["alert_id"], unique=False)
    op.create_index("ix_alert_delivery_due", "alert_delivery", ["status", "next_attempt_at"], unique=False)
    # The single version row every entry change bumps (matchers and edge units sync against it).
    op.bulk_insert(
        sa.table("hot_list_version", sa.column("id", sa.Integer()), sa.column("version", sa.Integer())),
        [{"id": 1, "version": 0}],
    )


def downgrade() -> None:
    op.drop_index("ix_alert_delivery_due", table_name="alert_delivery")
    op.drop_index(op.f("ix_alert_delivery_alert_id"), table_name="alert_delivery")
    op.drop_table("alert_delivery")
    op.drop_index(op.f("ix_alert_read_uid"), table_name="alert")
    op.drop_index(op.f("ix_alert_entry_id"), table_name="alert")
    op.drop_index("ix_alert_created", table_name="alert")
    op.drop_index(op.f("ix_alert_camera_id"), table_name="alert")
    op.drop_table("alert")
    op.drop_index("ix_hot_list_entry_plate", table_name="hot_list_entry")
    op.drop_index("ix_hot_list_entry_list_ref", table_name="hot_list_entry")
    op.drop_index("ix_hot_list_entry_change", table_name="hot_list_entry")
    op.drop_table("hot_list_entry")
    op.drop_index(op.f("ix_hot_list_sync_list_id"), table_name="hot_list_sync")
    op.drop_table("hot_list_sync")
    op.drop_table("hot_list_version")
    op.drop_table("hot_list")
    op.drop_table("alert_channel")
