"""Viewing reads and their images: each with a stated purpose (USE-1), each audited (AUD-1).

The purpose has been checked by ``services.purposes.require_purpose`` before these
run; it is written into every audit record here.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from platekeeper.policy.purposes import PurposeStatement
from platekeeper.services import audit
from platekeeper.store.images import ImageStore
from platekeeper.store.models import Agency, Read


@dataclass(frozen=True)
class Viewer:
    actor: audit.Actor
    permissions: frozenset[str]

    def agency_kinds(self) -> set[str]:
        """Police and parking data are separate classes (PRK-4): each needs its own permission."""
        kinds = set()
        if "reads.view" in self.permissions:
            kinds.add("law_enforcement")
        if "parking_reads.view" in self.permissions:
            kinds.add("parking")
        return kinds


def _visible(viewer: Viewer) -> Select[Read]:
    return (
        select(Read)
        .join(Agency, Agency.id == Read.agency_id)
        .where(Agency.kind.in_(viewer.agency_kinds()))
        .options(selectinload(Read.camera), selectinload(Read.images))
    )


def by_uids(session: Session, uids: list[str]) -> list[Read]:
    """Reads by id for the submitter's own receipt (not a view of others' data: not audited)."""
    if not uids:
        return []
    query = select(Read).where(Read.uid.in_(uids)).options(selectinload(Read.camera), selectinload(Read.images))
    found = {r.uid: r for r in session.scalars(query)}
    return [found[u] for u in uids if u in found]


def list_reads(
    session: Session, viewer: Viewer, purpose: PurposeStatement, *, limit: int = 50, before_id: int | None = None
) -> list[Read]:
    """Newest first. The audit record names every plate shown."""
    query = _visible(viewer).order_by(Read.captured_at.desc(), Read.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Read.id < before_id)
    reads = list(session.scalars(query))
    audit.record(
        session,
        audit.Event(
            "reads.list",
            viewer.actor,
            details={
                **purpose.audit_details(),
                "criteria": {"newest": True, "limit": limit, "before_id": before_id},
                "result_count": len(reads),
                "plates": [r.plate for r in reads],
            },
        ),
    )
    return reads


def get_read(session: Session, viewer: Viewer, purpose: PurposeStatement, uid: str) -> Read | None:
    """One read, or None when it does not exist *or* the viewer may not see it (same answer)."""
    read = session.scalar(_visible(viewer).where(Read.uid == uid))
    audit.record(
        session,
        audit.Event(
            "read.view",
            viewer.actor,
            target=f"read:{uid}",
            outcome="allowed" if read else "failed",
            details={**purpose.audit_details(), "plate": read.plate if read else None, "result_count": int(bool(read))},
        ),
    )
    return read


def read_image(
    session: Session, store: ImageStore, viewer: Viewer, purpose: PurposeStatement, uid: str, kind: str
) -> bytes | None:
    """Decrypted JPEG of a read's ``frame`` or ``crop``, or None when absent or not visible."""
    read = session.scalar(_visible(viewer).where(Read.uid == uid))
    image = next((i for i in read.images if i.kind == kind), None) if read else None
    audit.record(
        session,
        audit.Event(
            "image.view",
            viewer.actor,
            target=f"read:{uid}/{kind}",
            outcome="allowed" if image else "failed",
            details={**purpose.audit_details(), "plate": read.plate if read else None, "kind": kind},
        ),
    )
    if image is None:
        return None
    return store.get(image.capture_day, image.blob_name, session)
