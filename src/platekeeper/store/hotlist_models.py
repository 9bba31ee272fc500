"""Hot lists, their entries and syncs, alerts and their deliveries (issue 6: HOT-1..6, USE-4, CAP-5).

Alerts point at reads by ``read_id``/``read_uid``/``capture_day`` without a foreign key:
``plate_read`` becomes a table partitioned by capture day on PostgreSQL, and an alert must
outlive nothing it cannot find again (the read's uid and day locate it in its partition).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from platekeeper.store.models import Base, utcnow

BIGID = BigInteger().with_variant(Integer, "sqlite")


class HotList(Base):
    """A department list (entries typed in and approved) or an external one (imported, kept in sync)."""

    __tablename__ = "hot_list"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # department | external
    category: Mapped[str] = mapped_column(String(32))  # department | stolen_vehicle | ncic | clets | bolo
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # External lists only: where the file comes from, how to read it, how often.
    source: Mapped[str | None] = mapped_column(String(500))  # a path or an https:// URL
    source_format: Mapped[str | None] = mapped_column(String(16))  # csv | fixed
    column_mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sync_interval_minutes: Mapped[int | None] = mapped_column(Integer)
    next_sync_at: Mapped[dt.datetime | None]
    last_sync_at: Mapped[dt.datetime | None]  # last attempt, successful or not
    last_success_at: Mapped[dt.datetime | None]  # shown on the list (HOT-4)
    last_error: Mapped[str | None] = mapped_column(Text)
    needs_full_resync: Mapped[bool] = mapped_column(Boolean, default=True)  # set by any failure (HOT-4)
    source_etag: Mapped[str | None] = mapped_column(String(200))  # lets an unchanged source be skipped
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class HotListEntry(Base):
    """One plate (or partial plate) on a list. Rows are never deleted: removal is recorded (HOT-3)."""

    __tablename__ = "hot_list_entry"
    __table_args__ = (
        Index("ix_hot_list_entry_list_ref", "list_id", "external_ref"),
        Index("ix_hot_list_entry_change", "change_seq"),
        Index("ix_hot_list_entry_plate", "plate"),
    )

    id: Mapped[int] = mapped_column(BIGID, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hot_list.id", ondelete="CASCADE"))
    plate: Mapped[str] = mapped_column(String(16))  # normalised; may hold ? and * when a wildcard
    wildcard: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str | None] = mapped_column(String(8))  # issuing state, when known
    status: Mapped[str] = mapped_column(String(16))  # pending | active | rejected | removed
    alert_type: Mapped[str] = mapped_column(String(16), default="vehicle")  # vehicle | wanted_person
    reason: Mapped[str] = mapped_column(Text)  # synopsis (HOT-1) or the external list's reason
    person_description: Mapped[str | None] = mapped_column(Text)  # wanted-person entries (HOT-5)
    vehicle_description: Mapped[str | None] = mapped_column(String(200))
    external_ref: Mapped[str | None] = mapped_column(String(64))  # the source's own record id
    row_hash: Mapped[str | None] = mapped_column(String(32))  # external rows: detects a changed record
    # Department entries (HOT-1, USE-1): who entered it, why, for which case.
    case_numbers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    purpose: Mapped[str | None] = mapped_column(String(64))
    no_case_reason: Mapped[str | None] = mapped_column(String(500))
    presumed_crime: Mapped[str | None] = mapped_column(String(200))
    major_crime: Mapped[bool] = mapped_column(Boolean, default=False)  # allows a partial plate (USE-4)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    entered_by_name: Mapped[str | None] = mapped_column(String(200))
    entered_by_badge: Mapped[str | None] = mapped_column(String(32))
    entered_by_assignment: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    owner_name: Mapped[str | None] = mapped_column(String(200))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    approved_by_name: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[dt.datetime | None]
    review_on: Mapped[dt.date | None] = mapped_column(Date)  # HOT-3
    expires_at: Mapped[dt.datetime | None]
    reminder_sent_at: Mapped[dt.datetime | None]
    removed_at: Mapped[dt.datetime | None]
    removed_by: Mapped[str | None] = mapped_column(String(200))
    removal_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The hot-list version at this row's last change: matchers and edge units fetch changes after theirs.
    change_seq: Mapped[int] = mapped_column(BIGID, default=0)

    hot_list: Mapped[HotList] = relationship()


class HotListVersion(Base):
    """One row: the version every entry change bumps. Locking it serialises writers on PostgreSQL."""

    __tablename__ = "hot_list_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BIGID, default=0)


class HotListSync(Base):
    """One attempt to synchronise an external list (HOT-4): failures stay visible."""

    __tablename__ = "hot_list_sync"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hot_list.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    mode: Mapped[str] = mapped_column(String(16))  # full | incremental
    outcome: Mapped[str] = mapped_column(String(16))  # ok | failed | unchanged
    rows: Mapped[int] = mapped_column(Integer, default=0)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)  # rows that could not be read
    error: Mapped[str | None] = mapped_column(Text)


class Alert(Base):
    """A read that matched an active entry, and what the officer did about it (HOT-5, HOT-6, CAP-5)."""

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("read_uid", "entry_id", name="uq_alert_read_entry"),
        Index("ix_alert_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BIGID, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    read_id: Mapped[int] = mapped_column(BIGID)  # no foreign key: plate_read is partitioned
    read_uid: Mapped[str] = mapped_column(String(36), index=True)
    capture_day: Mapped[dt.date] = mapped_column(Date)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id"), index=True)
    read_plate: Mapped[str] = mapped_column(String(16))
    matched_plate: Mapped[str] = mapped_column(String(16))  # the read's text or the candidate that matched
    matched_on: Mapped[str] = mapped_column(String(16))  # read | candidate
    match_type: Mapped[str] = mapped_column(String(16))  # exact | confusable | wildcard
    entry_id: Mapped[int] = mapped_column(ForeignKey("hot_list_entry.id"), index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("hot_list.id"))
    entry_plate: Mapped[str] = mapped_column(String(16))
    entry_reason: Mapped[str] = mapped_column(Text)  # as it stood when the alert fired
    alert_type: Mapped[str] = mapped_column(String(16))
    captured_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="new")  # new | verifying | closed
    # HOT-5: each step, who and when.
    plate_confirmed: Mapped[bool | None] = mapped_column(Boolean)
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    confirmed_at: Mapped[dt.datetime | None]
    clets_attempted: Mapped[bool] = mapped_column(Boolean, default=False)
    clets_result: Mapped[str | None] = mapped_column(String(32))  # valid | not_valid | no_response
    clets_by: Mapped[str | None] = mapped_column(String(200))
    clets_at: Mapped[dt.datetime | None]
    occupants_match: Mapped[bool | None] = mapped_column(Boolean)
    action_taken: Mapped[str | None] = mapped_column(Text)
    action_at: Mapped[dt.datetime | None]
    disposition: Mapped[str | None] = mapped_column(String(32))
    disposition_note: Mapped[str | None] = mapped_column(Text)
    disposed_by: Mapped[str | None] = mapped_column(String(200))
    disposed_at: Mapped[dt.datetime | None]

    entry: Mapped[HotListEntry] = relationship()
    hot_list: Mapped[HotList] = relationship()


class AlertChannel(Base):
    """Where alerts go besides the live page: an MQTT broker or a webhook (configured by an administrator)."""

    __tablename__ = "alert_channel"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # mqtt | webhook
    target: Mapped[str] = mapped_column(String(500))  # mqtt://host:port/topic or https://...
    secret: Mapped[str | None] = mapped_column(String(200))  # signs webhook bodies (HMAC-SHA256)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class AlertDelivery(Base):
    """One alert (or disposition) to one channel or administrator; retried until delivered."""

    __tablename__ = "alert_delivery"
    __table_args__ = (Index("ix_alert_delivery_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BIGID, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(16))  # hit | disposition
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("alert_channel.id", ondelete="CASCADE"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))  # an administrator (HOT-6)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed | read
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    alert: Mapped[Alert] = relationship()
    channel: Mapped[AlertChannel | None] = relationship()
