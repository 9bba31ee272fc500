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
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
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
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    agency: Mapped[Agency] = relationship()


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
    api_key_prefix: Mapped[str | None] = mapped_column(String(16), index=True)
    api_key_hash: Mapped[str | None] = mapped_column(String(64))
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
        UniqueConstraint("camera_id", "client_read_id", name="uq_plate_read_camera_client_read"),
        Index("ix_plate_read_plate_captured", "plate", "captured_at"),
        Index("ix_plate_read_captured", "captured_at"),
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

    camera: Mapped[Camera] = relationship()
    images: Mapped[list[ReadImage]] = relationship(back_populates="read", cascade="all, delete-orphan")


class ReadImage(Base):
    __tablename__ = "read_image"
    __table_args__ = (UniqueConstraint("read_id", "kind", name="uq_read_image_read_kind"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    read_id: Mapped[int] = mapped_column(ForeignKey("plate_read.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # frame | crop
    capture_day: Mapped[dt.date] = mapped_column(Date)
    blob_name: Mapped[str] = mapped_column(String(200))  # path inside the image store
    sha256: Mapped[str] = mapped_column(String(64))  # of the plaintext JPEG, for evidence integrity
    content_type: Mapped[str] = mapped_column(String(32), default="image/jpeg")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)

    read: Mapped[Read] = relationship(back_populates="images")


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
    occurred_at: Mapped[dt.datetime]
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
