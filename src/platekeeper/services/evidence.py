"""Evidence export (RET-3): a zip of reads, images, metadata and hashes, with a chain-of-custody record.

Exporting places a hold on every exported read (RET-2), so retention keeps it
until the hold is released. Reads the exporter may not see are left out exactly
as reads that do not exist are (SHR-4). The zip's own hash is kept in the
evidence_export row; the files inside are listed with theirs in SHA256SUMS.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from platekeeper.policy.purposes import PurposeStatement
from platekeeper.services import audit
from platekeeper.services.reads import Viewer
from platekeeper.store.images import ImageStore, ImageUnavailableError
from platekeeper.store.models import Agency, EvidenceExport, Read, ReadHold, utcnow

if TYPE_CHECKING:
    from platekeeper.services.search_query import FoundRead

MAX_READS = 500
CSV_FIELDS = ("read_id", "plate", "captured_at_utc", "camera", "camera_name", "latitude", "longitude",
              "confidence", "alternatives", "vehicle_colour", "region")  # fmt: skip


class EvidenceError(ValueError):
    pass


@dataclass
class Package:
    export: EvidenceExport
    data: bytes

    @property
    def filename(self) -> str:
        return f"evidence-{self.export.created_at:%Y%m%d-%H%M%S}-{self.export.uid[:8]}.zip"


def read_row(read: Read | FoundRead) -> dict[str, Any]:
    """One read as a flat record: the CSV export and the package's reads.csv share it."""
    return {
        "read_id": read.uid,
        "plate": read.plate,
        "captured_at_utc": read.captured_at.isoformat(),
        "camera": read.camera.key,
        "camera_name": read.camera.name,
        "latitude": read.latitude,
        "longitude": read.longitude,
        "confidence": read.confidence,
        "alternatives": " ".join(str(c.get("plate")) for c in read.candidates if c.get("plate") != read.plate),
        "vehicle_colour": read.vehicle_colour,
        "region": read.region,
    }


def csv_text(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        # A cell starting with = + - @ would run as a formula in a spreadsheet: quote it as text.
        writer.writerow({k: f"'{v}" if isinstance(v, str) and v[:1] in "=+-@" else v for k, v in row.items()})
    return buffer.getvalue()


def _visible_reads(session: Session, viewer: Viewer, uids: list[str]) -> list[Read]:
    query = (
        select(Read)
        .join(Agency, Agency.id == Read.agency_id)
        .where(Read.uid.in_(uids), Agency.kind.in_(sorted(viewer.agency_kinds())))
        .options(selectinload(Read.camera), selectinload(Read.images))
        .order_by(Read.captured_at)
    )
    return list(session.scalars(query))


def _images(session: Session, store: ImageStore, read: Read) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    files: dict[str, bytes] = {}
    notes: list[dict[str, Any]] = []
    for image in sorted(read.images, key=lambda i: i.kind):
        name = f"images/{read.uid}-{image.kind}.jpg"
        try:
            data = store.get(image.capture_day, image.blob_name, session)
        except ImageUnavailableError as exc:
            notes.append({"file": name, "available": False, "why": str(exc)})
            continue
        digest = hashlib.sha256(data).hexdigest()
        notes.append({"file": name, "available": True, "sha256": digest, "matches_ingest_hash": digest == image.sha256})
        files[name] = data
    return files, notes


def _zip(files: dict[str, bytes]) -> bytes:
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            archive.writestr(zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0)), data)
        archive.writestr(zipfile.ZipInfo("SHA256SUMS", date_time=(2000, 1, 1, 0, 0, 0)), sums)
    return buffer.getvalue()


def _custody(export: EvidenceExport, viewer: Viewer, purpose: PurposeStatement, reads: list[Read]) -> dict[str, Any]:
    actor = viewer.actor
    return {
        "export_id": export.uid,
        "exported_at": export.created_at.isoformat(),
        "exported_by": {
            "username": actor.name,
            "user_id": actor.id,
            "role": actor.role,
            "agency": actor.agency,
            "unit": actor.unit,
            "source_ip": actor.source_ip,
        },
        "why": {**purpose.audit_details(), "reason": export.reason},
        "what": [{"read_id": r.uid, "plate": r.plate, "captured_at_utc": r.captured_at.isoformat()} for r in reads],
        "hold": "every read above is held past its retention period until the hold is released (RET-2)",
    }


def export(
    session: Session,
    store: ImageStore,
    viewer: Viewer,
    purpose: PurposeStatement,
    read_uids: list[str],
    reason: str,
) -> Package:
    """Build the package, record its custody, hold its reads and audit it, in the caller's transaction."""
    reason = reason.strip()
    if not reason:
        raise EvidenceError("say why the reads are exported (e.g. 'discovery for the DA')")
    uids = list(dict.fromkeys(read_uids))
    if not uids or len(uids) > MAX_READS:
        raise EvidenceError(f"choose between 1 and {MAX_READS} reads to export")
    reads = _visible_reads(session, viewer, uids)
    include_images = "images.view" in viewer.permissions
    actor = viewer.actor
    record = EvidenceExport(
        uid=str(uuid.uuid4()), created_at=utcnow(), user_id=int(actor.id) if actor.id and actor.id.isdigit() else None,
        username=actor.name or "?", agency=actor.agency, unit=actor.unit, purpose=purpose.purpose,
        case_number=purpose.case_number, no_case_reason=purpose.no_case_reason, presumed_crime=purpose.presumed_crime,
        reason=reason, read_uids=[r.uid for r in reads], images_included=include_images,
        package_sha256="", package_bytes=0,
    )  # fmt: skip
    files, image_notes = _package_files(session, store, reads, include_images)
    files["custody.json"] = json.dumps(_custody(record, viewer, purpose, reads), indent=2).encode()
    files["reads.json"] = json.dumps({"reads": [read_row(r) for r in reads], "images": image_notes}, indent=2).encode()
    data = _zip(files)
    record.package_sha256, record.package_bytes = hashlib.sha256(data).hexdigest(), len(data)
    session.add(record)
    session.flush()
    _hold(session, record, reads)
    _audit(session, viewer, purpose, record, reads, uids)
    return Package(record, data)


def _package_files(
    session: Session, store: ImageStore, reads: list[Read], include_images: bool
) -> tuple[dict[str, bytes], list[dict[str, Any]]]:
    files: dict[str, bytes] = {"reads.csv": csv_text([read_row(r) for r in reads]).encode()}
    notes: list[dict[str, Any]] = []
    if include_images:
        for read in reads:
            images, read_notes = _images(session, store, read)
            files.update(images)
            notes.extend(read_notes)
    return files, notes


def _hold(session: Session, record: EvidenceExport, reads: list[Read]) -> None:
    for read in reads:
        session.add(
            ReadHold(
                read_id=read.id,
                read_uid=read.uid,
                capture_day=read.capture_day,
                export_id=record.id,
                case_number=record.case_number,
                reason=f"evidence export {record.uid}: {record.reason}",
                placed_by=record.username,
            )
        )


def _audit(
    session: Session,
    viewer: Viewer,
    purpose: PurposeStatement,
    record: EvidenceExport,
    reads: list[Read],
    asked: list[str],
) -> None:
    audit.record(
        session,
        audit.Event(
            "evidence.export",
            viewer.actor,
            target=f"evidence:{record.uid}",
            details={
                **purpose.audit_details(),
                "criteria": {"reads": asked, "reason": record.reason, "images": record.images_included},
                "result_count": len(reads),
                "plates": [r.plate for r in reads],
                "reads": [r.uid for r in reads],
                "package_sha256": record.package_sha256,
                "held": len(reads),
            },
        ),
    )


def list_exports(session: Session, viewer: Viewer, limit: int = 100) -> list[EvidenceExport]:
    """The chain-of-custody records, newest first (viewing them is itself audited)."""
    rows = list(session.scalars(select(EvidenceExport).order_by(EvidenceExport.created_at.desc()).limit(limit)))
    audit.record(session, audit.Event("evidence.list", viewer.actor, details={"result_count": len(rows)}))
    return rows


def active_holds(session: Session, day: dt.date) -> list[ReadHold]:
    """Holds on reads of a capture day that are not released: retention must keep these reads."""
    return list(session.scalars(select(ReadHold).where(ReadHold.capture_day == day, ReadHold.released_at.is_(None))))
