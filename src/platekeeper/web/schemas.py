"""API schemas, kept apart from the tables: what goes over the wire and nothing more."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

PLATE_PATTERN = r"^[A-Z0-9]{1,10}$"


class CandidatePublic(BaseModel):
    plate: str = Field(pattern=PLATE_PATTERN)
    confidence: float = Field(ge=0, le=1)


class VehicleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    colour: str | None = Field(default=None, max_length=32)
    make: str | None = Field(default=None, max_length=64)
    body_type: str | None = Field(default=None, max_length=64)


class EdgeReadCreate(BaseModel):
    """A read an edge unit already recognised. Images are optional base64 JPEGs."""

    model_config = ConfigDict(extra="forbid")
    client_read_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
    captured_at: dt.datetime
    plate: str = Field(pattern=PLATE_PATTERN)
    confidence: float = Field(ge=0, le=1)
    candidates: list[CandidatePublic] = Field(default_factory=list, max_length=20)
    box: list[int] | None = Field(default=None, min_length=4, max_length=4)
    region: str | None = Field(default=None, max_length=16)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    vehicle: VehicleIn = Field(default_factory=VehicleIn)
    crop_jpeg_base64: str | None = None
    frame_jpeg_base64: str | None = None


class ReadPublic(BaseModel):
    id: str
    plate: str
    confidence: float
    candidates: list[CandidatePublic]
    region: str | None
    box: list[int] | None
    captured_at: dt.datetime
    received_at: dt.datetime
    camera: str
    camera_name: str
    latitude: float | None
    longitude: float | None
    vehicle_colour: str | None
    images: list[str] = Field(description="image kinds available: frame, crop")


class IngestResponse(BaseModel):
    created: list[ReadPublic]
    duplicates: list[ReadPublic]


class Health(BaseModel):
    status: str
    database: str
    version: str
