"""Tables. Times are stored in UTC; the agency's zone is applied only for display."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    insert,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in and out, on SQLite (which drops zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store times with a zone")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Agency(Base):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # law_enforcement | parking
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(200))
    badge_number: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False once disabled (by an admin or for idleness)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    last_login_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]  # last request in a session: "when they last used it" (ACC-1 review)
    # ACC-1: a supervisor other than the user approves the account before it can sign in.
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    approved_by_name: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[dt.datetime | None]
    disabled_at: Mapped[dt.datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # ACC-3: repeated failures lock the account for a while.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    # ACC-2: TOTP second factor; the shared secret is encrypted with a key derived from the master key.
    totp_secret_enc: Mapped[str | None] = mapped_column(String(255))
    totp_enrolled_at: Mapped[dt.datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # a code is accepted once: no replay

    agency: Mapped[Agency] = relationship()
    trainings: Mapped[list[TrainingRecord]] = relationship(
        back_populates="user", order_by="TrainingRecord.completed_on", foreign_keys="TrainingRecord.user_id"
    )


class TrainingRecord(Base):
    """ACC-1: training on the policy's topics, with date and trainer. Records are kept, never overwritten."""

    __tablename__ = "training_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    topics: Mapped[list[Any]] = mapped_column(JSON)  # topic keys from the profile's training section
    completed_on: Mapped[dt.date] = mapped_column(Date)
    trainer: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="trainings", foreign_keys=[user_id])


class RoleGrant(Base):
    """An administrator's change to a role's permissions, over the profile's baseline (ACC-5)."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("role", "permission", name="uq_role_grant_role_permission"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(64))
    permission: Mapped[str] = mapped_column(String(64))
    granted: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """Keys for cameras and edge units: scoped, only a hash kept, revocable (ACC-2)."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # public part, finds the row
    secret_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[Any]] = mapped_column(JSON)  # e.g. ["reads.ingest", "hotlists.sync"]
    camera_id: Mapped[int | None] = mapped_column(ForeignKey("camera.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    last_used_at: Mapped[dt.datetime | None]

    camera: Mapped[Camera | None] = relationship()

    @property
    def usable(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > utcnow())


class UserSession(Base):
    """Server-side sessions: the cookie holds a random token, the table only its hash."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    source_ip: Mapped[str | None] = mapped_column(String(64))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    # "second_factor": the password was right, the TOTP code is still owed; such a session opens nothing.
    stage: Mapped[str] = mapped_column(String(16), default="full")

    user: Mapped[User] = relationship()


class Camera(Base):
    __tablename__ = "camera"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # stable name used by CLI and edge units
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # fixed | mobile
    latitude: Mapped[float | None] = mapped_column(Float)  # surveyed location, fixed cameras only
    longitude: Mapped[float | None] = mapped_column(Float)
    location_note: Mapped[str | None] = mapped_column(String(200))
    privacy_masks: Mapped[list[Any]] = mapped_column(JSON, default=list)  # polygons in frame pixels (CAP-3)
    attestation_statement: Mapped[str | None] = mapped_column(Text)  # public-view attestation (CAP-3)
    attested_by: Mapped[str | None] = mapped_column(String(200))
    attested_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    agency: Mapped[Agency] = relationship()

    @property
    def live(self) -> bool:
        """A camera may only deliver reads once public view was attested."""
        return self.attested_at is not None


class GpsFix(Base):
    """A mobile camera's track; a read takes the fix nearest its capture time (CAP-1)."""

    __tablename__ = "gps_fix"
    __table_args__ = (Index("ix_gps_fix_camera_time", "camera_id", "fixed_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id", ondelete="CASCADE"))
    fixed_at: Mapped[dt.datetime]
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)


class Read(Base):
    __tablename__ = "plate_read"
    __table_args__ = (
        # Ingest de-duplication: one read per (camera, client read id); reads without one (bulk imports) write
        # no entry (migrations 0005, 0006; on PostgreSQL the index also holds capture_day, the partition key).
        Index(
            "uq_plate_read_camera_client_read",
            "camera_id",
            "client_read_id",
            unique=True,
            sqlite_where=sql_text("client_read_id IS NOT NULL"),
            postgresql_where=sql_text("client_read_id IS NOT NULL"),
        ),
        Index("ix_plate_read_captured", "captured_at"),
        # --- search (issue 5, migration 0004): on PostgreSQL the table is partitioned by capture_day and
        # its primary key is (id, capture_day); this unique pair is what read_image's foreign key refers to.
        UniqueConstraint("id", "capture_day", name="uq_plate_read_id_day"),
        Index("ix_plate_read_cell_captured", "cell", "captured_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)  # public identifier, a UUID
    client_read_id: Mapped[str | None] = mapped_column(String(128))  # dedupe key from the sender
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    camera_id: Mapped[int] = mapped_column(ForeignKey("camera.id"))
    plate: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    candidates: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"plate", "confidence"}]
    region: Mapped[str | None] = mapped_column(String(16))
    box: Mapped[list[Any] | None] = mapped_column(JSON)  # [x, y, w, h] in the frame
    captured_at: Mapped[dt.datetime]  # the camera's own clock, in UTC
    capture_day: Mapped[dt.date] = mapped_column(Date, index=True)  # UTC day: image key and partition
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    vehicle_colour: Mapped[str | None] = mapped_column(String(32))
    vehicle_make: Mapped[str | None] = mapped_column(String(64))
    vehicle_type: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))  # cli | api-image | api-edge
    # search (issue 5): the grid cell of (latitude, longitude), see policy/geo.py; set on insert.
    cell: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))

    camera: Mapped[Camera] = relationship()
    images: Mapped[list[ReadImage]] = relationship(back_populates="read", cascade="all, delete-orphan")
    # search (issue 5): one row per distinct plate text the read holds (top guess and alternatives).
    plate_keys: Mapped[list[ReadPlate]] = relationship(
        primaryjoin="and_(Read.id == foreign(ReadPlate.read_id), Read.capture_day == foreign(ReadPlate.capture_day))",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ReadImage(Base):
    __tablename__ = "read_image"
    __table_args__ = (
        UniqueConstraint("read_id", "kind", name="uq_read_image_read_kind"),
        # (read_id, capture_day): plate_read is partitioned by capture_day on PostgreSQL (migration 0004).
        ForeignKeyConstraint(
            ["read_id", "capture_day"],
            ["plate_read.id", "plate_read.capture_day"],
            name="fk_read_image_read_plate_read",
            ondelete="CASCADE",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    read_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    kind: Mapped[str] = mapped_column(String(8))  # frame | crop
    capture_day: Mapped[dt.date] = mapped_column(Date)
    blob_name: Mapped[str] = mapped_column(String(200))  # path inside the image store
    sha256: Mapped[str] = mapped_column(String(64))  # of the plaintext JPEG, for evidence integrity
    content_type: Mapped[str] = mapped_column(String(32), default="image/jpeg")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)

    read: Mapped[Read] = relationship(back_populates="images")


# ---- search and investigations (issue 5) ------------------------------------------------------------------------
class ReadPlate(Base):
    """The plate index: one row per distinct plate text a read holds, its top guess and each alternative.

    Searches find reads here (exact, wildcard, fuzzy; USE-4), then fetch them from
    plate_read by (id, capture_day). Not partitioned, so one index probe covers a
    year; no foreign key, so plate_read partitions can be dropped (purge deletes
    these rows by capture_day first). Rows are written with the read (see
    ``_index_new_reads`` below, and the bulk loader in services/search_load.py).
    """

    __tablename__ = "read_plate"
    __table_args__ = (
        Index("ix_read_plate_key_captured", "plate_key", "captured_at"),
        Index("ix_read_plate_rkey_captured", "plate_rkey", "captured_at"),
    )

    # (read_id, plate): read ids come from one sequence, so this is unique across partitions, and it
    # leads with read_id, the Citus distribution column (docs/scaling.md).
    read_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # C collation on PostgreSQL: key ranges and LIKE prefixes compare byte-wise, as on SQLite.
    plate: Mapped[str] = mapped_column(
        String(16).with_variant(String(16, collation="C"), "postgresql"), primary_key=True
    )
    capture_day: Mapped[dt.date] = mapped_column(Date)
    captured_at: Mapped[dt.datetime]
    agency_id: Mapped[int] = mapped_column(Integer)  # visibility (police/parking) is filtered in the index step
    camera_id: Mapped[int] = mapped_column(Integer)
    plate_key: Mapped[str] = mapped_column(String(16).with_variant(String(16, collation="C"), "postgresql"))
    # The key read backwards: patterns that fix only the end of the plate (``*1234``) range-scan its index.
    plate_rkey: Mapped[str] = mapped_column(String(16).with_variant(String(16, collation="C"), "postgresql"))
    is_top: Mapped[bool] = mapped_column(Boolean)  # the read's own plate, not an alternative


class EvidenceExport(Base):
    """RET-3 chain of custody: who exported which reads, when and why, and the hash of what left."""

    __tablename__ = "evidence_export"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(64))
    case_number: Mapped[str | None] = mapped_column(String(64))
    no_case_reason: Mapped[str | None] = mapped_column(String(500))
    presumed_crime: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(Text)  # why this export (e.g. "discovery for DA, case 26-1234")
    read_uids: Mapped[list[Any]] = mapped_column(JSON)
    images_included: Mapped[bool] = mapped_column(Boolean)
    package_sha256: Mapped[str] = mapped_column(String(64))
    package_bytes: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))


class ReadHold(Base):
    """RET-2/RET-3: a read kept past its retention period until the hold is released."""

    __tablename__ = "read_hold"
    __table_args__ = (Index("ix_read_hold_day", "capture_day"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    read_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    read_uid: Mapped[str] = mapped_column(String(36))
    capture_day: Mapped[dt.date] = mapped_column(Date)
    export_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_export.id"))
    case_number: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(200))  # the reviewer responsible for the hold
    placed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    released_at: Mapped[dt.datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(200))


def read_plate_values(read: Read) -> list[dict[str, Any]]:
    """The plate-index rows of a read: its plate and each distinct alternative."""
    from platekeeper.policy.plate_patterns import plate_key

    texts = [read.plate] + [str(c.get("plate", "")) for c in (read.candidates or []) if isinstance(c, dict)]
    rows = []
    for text in dict.fromkeys(t for t in texts if t):
        key = plate_key(text)
        rows.append(
            {
                "read_id": read.id,
                "capture_day": read.capture_day,
                "captured_at": read.captured_at,
                "agency_id": read.agency_id,
                "camera_id": read.camera_id,
                "plate": text,
                "plate_key": key,
                "plate_rkey": key[::-1],
                "is_top": text == read.plate,
            }
        )
    return rows


@event.listens_for(Session, "before_flush")
def _place_new_reads(session: Session, _context: Any, _instances: Any) -> None:
    """Every new read gets its grid cell, whichever code path stores it."""
    from platekeeper.policy.geo import cell_of

    for obj in session.new:
        if isinstance(obj, Read):
            if obj.cell is None:
                obj.cell = cell_of(obj.latitude, obj.longitude)
            if obj.camera_id is None and obj.camera is not None:
                obj.camera_id = obj.camera.id


@event.listens_for(Session, "after_flush")
def _index_new_reads(session: Session, _context: Any) -> None:
    """Every new read gets its plate-index rows, once the flush has given it its id: one multi-row insert
    for all of them (as ORM objects they cost more than the reads themselves, and nothing reads them back
    in the same transaction)."""
    rows = [row for obj in session.new if isinstance(obj, Read) for row in read_plate_values(obj)]
    if rows:
        session.connection().execute(insert(ReadPlate.__table__), rows)  # type: ignore[arg-type]


class ImageDayKey(Base):
    """One AES-256 data key per capture day, wrapped by the master key. Purge destroys it."""

    __tablename__ = "image_day_key"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    destroyed_at: Mapped[dt.datetime | None]


class AuditEvent(Base):
    """Append-only and hash-chained; database triggers refuse UPDATE and DELETE."""

    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[dt.datetime] = mapped_column(index=True)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # allowed | refused | failed
    actor_type: Mapped[str] = mapped_column(String(16))  # user | camera | system | anonymous
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    actor_role: Mapped[str | None] = mapped_column(String(64))
    agency: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(200))
    source_ip: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditChainHead(Base):
    """One row: the chain's tip. Locking it serialises appends on PostgreSQL."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditSample(Base):
    """AUD-3: a reproducible random sample of accesses in a period, drawn by an auditor."""

    __tablename__ = "audit_sample"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_start: Mapped[dt.datetime]
    period_end: Mapped[dt.datetime]
    seed: Mapped[str] = mapped_column(String(64))  # with the period and size, redraws the same sample
    requested_size: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)  # accesses in the period the sample was drawn from
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))  # audit tip when drawn
    drawn_by: Mapped[str] = mapped_column(String(200))
    drawn_by_unit: Mapped[str | None] = mapped_column(String(200))
    drawn_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    conclusion: Mapped[str | None] = mapped_column(Text)
    signed_off_by: Mapped[str | None] = mapped_column(String(200))
    signed_off_at: Mapped[dt.datetime | None]

    items: Mapped[list[AuditSampleItem]] = relationship(
        back_populates="sample", order_by="AuditSampleItem.audit_seq", cascade="all, delete-orphan"
    )


class AuditSampleItem(Base):
    __tablename__ = "audit_sample_item"
    __table_args__ = (UniqueConstraint("sample_id", "audit_seq", name="uq_audit_sample_item_sample_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("audit_sample.id", ondelete="CASCADE"), index=True)
    audit_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)  # bulk, wildcard, off_hours, repeated_plate, refused
    assessment: Mapped[str | None] = mapped_column(String(16))  # compliant | concern | violation
    finding: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[dt.datetime | None]

    sample: Mapped[AuditSample] = relationship(back_populates="items")
