"""JSON API under /api/v1. Every route declares its access rule."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

import platekeeper
from platekeeper.policy.purposes import PurposeStatement
from platekeeper.recognition.base import Box, Candidate, PlateRead, VehicleAttributes
from platekeeper.recognition.images import ImageDecodeError, decode_image
from platekeeper.services import api_keys, audit, ingest, reads
from platekeeper.services.purposes import require_purpose
from platekeeper.store.models import Camera, Read
from platekeeper.system import System
from platekeeper.web.purpose import stated_purpose
from platekeeper.web.schemas import EdgeReadCreate, Health, IngestResponse, ReadPublic
from platekeeper.web.security import Principal, camera_key, client_ip, public, require, system_of

router = APIRouter()


def read_public(read: Read) -> ReadPublic:
    return ReadPublic(
        id=read.uid,
        plate=read.plate,
        confidence=read.confidence,
        candidates=read.candidates,
        region=read.region,
        box=read.box,
        captured_at=read.captured_at,
        received_at=read.received_at,
        camera=read.camera.key,
        camera_name=read.camera.name,
        latitude=read.latitude,
        longitude=read.longitude,
        vehicle_colour=read.vehicle_colour,
        images=sorted(i.kind for i in read.images),
    )


@router.get("/healthz", response_model=Health, tags=["system"])
def healthz(request: Request, _: Annotated[Principal | None, Depends(public())]) -> Any:
    """Liveness and database reachability. Reveals no data."""
    system = system_of(request)
    try:
        with system.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception:
        database = "unreachable"
    status = "ok" if database == "ok" else "degraded"
    return JSONResponse(
        Health(status=status, database=database, version=platekeeper.__version__).model_dump(),
        status_code=200 if status == "ok" else 503,
    )


@router.get("/api/v1/reads", response_model=list[ReadPublic], tags=["reads"])
def list_reads(
    request: Request,
    user: Annotated[Principal, Depends(require("reads.view", "parking_reads.view"))],
    purpose: Annotated[PurposeStatement, Depends(stated_purpose)],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ReadPublic]:
    """Newest reads first. Needs the purpose fields (USE-1); audited with every plate returned."""
    system = system_of(request)
    require_purpose(
        system.sessions, system.profile, user.actor, purpose, action="reads.list", criteria={"limit": limit}
    )
    with system.sessions() as session, session.begin():
        return [read_public(r) for r in reads.list_reads(session, user.viewer, purpose, limit=limit)]


@router.get("/api/v1/reads/{read_id}", response_model=ReadPublic, tags=["reads"])
def get_read(
    request: Request,
    read_id: str,
    user: Annotated[Principal, Depends(require("reads.view", "parking_reads.view"))],
    purpose: Annotated[PurposeStatement, Depends(stated_purpose)],
) -> ReadPublic:
    """One read. Needs the purpose fields (USE-1); audited."""
    system = system_of(request)
    require_purpose(
        system.sessions, system.profile, user.actor, purpose, action="read.view", criteria={"read": read_id}
    )
    with system.sessions() as session, session.begin():
        read = reads.get_read(session, user.viewer, purpose, read_id)
        if read is None:
            raise HTTPException(404, "no such read")
        return read_public(read)


def _camera_actor(camera: Camera | None, request: Request) -> audit.Actor:
    if camera is None:
        return audit.Actor(type="anonymous", source_ip=client_ip(request))
    return audit.Actor(type="camera", id=camera.key, name=camera.name, source_ip=client_ip(request))


def _refuse(system: System, actor: audit.Actor, status: int, reason: str, target: str | None = None) -> HTTPException:
    ingest.refuse(system, actor, reason, target)
    return HTTPException(status, reason)


def _authenticate_camera(system: System, request: Request, api_key: str | None) -> Camera:
    if not api_key:
        raise _refuse(
            system, _camera_actor(None, request), 401, "no camera API key: send 'Authorization: Bearer <key>'"
        )
    camera = api_keys.authenticate_camera(system.sessions, api_key)
    if camera is None:
        raise _refuse(system, _camera_actor(None, request), 401, "the camera API key is not valid")
    return camera


def _decode_b64_jpeg(value: str | None, field: str) -> np.ndarray | None:
    if value is None:
        return None
    try:
        return decode_image(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{field}: {exc}") from exc


def _edge_pending(camera: Camera, body: EdgeReadCreate) -> ingest.PendingRead:
    crop = _decode_b64_jpeg(body.crop_jpeg_base64, "crop_jpeg_base64")
    frame = _decode_b64_jpeg(body.frame_jpeg_base64, "frame_jpeg_base64")
    if body.box is not None and ingest.box_in_mask(camera, body.box):
        raise ValueError("the plate lies inside one of the camera's privacy masks; it may not be stored (CAP-3)")
    candidates = tuple(Candidate(c.plate, c.confidence) for c in body.candidates) or (
        Candidate(body.plate, body.confidence),
    )
    plate = PlateRead(
        plate=body.plate,
        confidence=body.confidence,
        candidates=candidates,
        box=Box(*body.box) if body.box else Box(0, 0, 0, 0),
        region=body.region,
        attributes=VehicleAttributes(
            colour=body.vehicle.colour, make=body.vehicle.make, body_type=body.vehicle.body_type
        ),
        crop=crop,
    )
    location = (body.latitude, body.longitude) if body.latitude is not None and body.longitude is not None else None
    return ingest.PendingRead(
        plate=plate,
        captured_at=body.captured_at,
        frame=ingest.masked(camera, frame) if frame is not None else None,
        client_read_id=body.client_read_id,
        location=location,
    )


def _form_text(form: Any, name: str, required: bool = False) -> str | None:
    value = form.get(name)
    if value is None or value == "":
        if required:
            raise ValueError(f"the form field {name!r} is required")
        return None
    if not isinstance(value, str):
        raise ValueError(f"the form field {name!r} must be text")
    return value


def _parse_time(value: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"captured_at {value!r} is not an ISO 8601 time") from exc


async def _image_pending(system: System, camera: Camera, request: Request) -> list[ingest.PendingRead]:
    form = await request.form(max_files=1, max_fields=20)
    upload = form.get("image")
    if not isinstance(upload, UploadFile):
        raise ValueError("the multipart field 'image' (a JPEG or PNG file) is required")
    data = await upload.read(system.settings.max_upload_bytes + 1)
    if len(data) > system.settings.max_upload_bytes:
        raise OverflowError(f"the image is larger than {system.settings.max_upload_bytes} bytes")
    captured_at = _parse_time(_form_text(form, "captured_at", required=True) or "")
    client_read_id = _form_text(form, "client_read_id")
    lat_text, lon_text = _form_text(form, "latitude"), _form_text(form, "longitude")
    location = (float(lat_text), float(lon_text)) if lat_text and lon_text else None
    try:
        frame = await run_in_threadpool(decode_image, data)
    except ImageDecodeError as exc:
        raise ValueError(f"the image could not be decoded: {exc}") from exc
    ingest.check_capture_time(captured_at)
    clean, plates = await run_in_threadpool(ingest.recognise_frame, system, camera, frame)
    return [ingest.PendingRead(p, captured_at, clean, client_read_id, location) for p in plates]


@router.post(
    "/api/v1/reads",
    response_model=IngestResponse,
    status_code=201,
    tags=["ingest"],
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["image", "captured_at"],
                        "properties": {
                            "image": {"type": "string", "format": "binary"},
                            "captured_at": {"type": "string", "format": "date-time"},
                            "client_read_id": {"type": "string"},
                            "latitude": {"type": "number"},
                            "longitude": {"type": "number"},
                        },
                    }
                },
                "application/json": {"schema": EdgeReadCreate.model_json_schema()},
            }
        }
    },
)
async def create_reads(request: Request, api_key: Annotated[str | None, Depends(camera_key())]) -> Any:
    """Submit a camera image (multipart; the server recognises it) or an edge unit's read (JSON).

    Authenticated by the camera's API key. A repeated ``client_read_id`` is stored once: the
    answer is 200 with the earlier read under ``duplicates``.
    """
    # The event loop only reads the request; recognition and database work run in the thread pool, so a
    # busy ingest never stalls other requests (the live alert streams above all).
    system = system_of(request)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.body()
        return await run_in_threadpool(_ingest_edge_read, system, request, api_key, body)
    camera = await run_in_threadpool(_authenticate_camera, system, request, api_key)
    actor = _camera_actor(camera, request)
    if not content_type.startswith("multipart/form-data"):
        reason = "send multipart/form-data (an image) or application/json (an edge read)"
        raise await run_in_threadpool(_refuse, system, actor, 415, reason)
    try:
        ingest.require_live(camera)
        pending = await _image_pending(system, camera, request)
        result = await run_in_threadpool(ingest.store_reads, system, actor, camera.key, pending, "api-image")
    except (ValueError, OverflowError, ingest.IngestRefused) as exc:
        return await run_in_threadpool(_refusal, system, actor, camera, exc)
    return _receipt(result)


def _ingest_edge_read(system: System, request: Request, api_key: str | None, body: bytes) -> JSONResponse:
    """An edge unit's read, from key to receipt in one trip to the thread pool (the busiest request)."""
    camera = _authenticate_camera(system, request, api_key)
    actor = _camera_actor(camera, request)
    try:
        ingest.require_live(camera)
        read = EdgeReadCreate.model_validate_json(body)
        result = ingest.store_reads(system, actor, camera.key, [_edge_pending(camera, read)], "api-edge")
    except (ValueError, OverflowError, ingest.IngestRefused) as exc:
        return _refusal(system, actor, camera, exc)
    return _receipt(result)


def _refusal(system: System, actor: audit.Actor, camera: Camera, exc: Exception) -> JSONResponse:
    """Audit a refused submission and answer it: 422 with each problem for an invalid edge read."""
    target = f"camera:{camera.key}"
    if isinstance(exc, ValidationError):
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        ingest.refuse(system, actor, f"invalid edge read: {problems}", target)
        return JSONResponse({"detail": "the read is not valid", "problems": problems}, status_code=422)
    if isinstance(exc, OverflowError):
        raise _refuse(system, actor, 413, str(exc), target) from exc
    status = 403 if isinstance(exc, ingest.IngestRefused) and "attestation" in str(exc) else 422
    raise _refuse(system, actor, status, str(exc), target) from exc


def _receipt(result: ingest.IngestResult) -> JSONResponse:
    """The stored reads as the writer committed them (their camera and images came loaded)."""
    created = [read_public(r) for r in result.created]
    duplicates = [read_public(r) for r in result.duplicates]
    status = 201 if created or not duplicates else 200
    return JSONResponse(
        IngestResponse(created=created, duplicates=duplicates).model_dump(mode="json"), status_code=status
    )
