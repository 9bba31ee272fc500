"""The alert as the outside sees it: the live page, MQTT, webhooks and the administrator get the same body."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.store.hotlist_models import Alert, HotList, HotListEntry
from platekeeper.store.models import Read


def payload(session: Session, alert: Alert, event: str = "hit", read: Read | None = None) -> dict[str, Any]:
    """The hit, the entry's reason, and which images the read has (fetched through the audited image route).

    Ingest passes the ``read`` it has just stored, saving a query per alert."""
    hot_list = session.get(HotList, alert.list_id)
    entry = session.get(HotListEntry, alert.entry_id)
    if read is None:
        read = session.scalar(select(Read).where(Read.uid == alert.read_uid))
    camera = read.camera if read is not None else None
    body: dict[str, Any] = {
        "event": event,
        "id": alert.uid,
        "plate": alert.read_plate,
        "matched_plate": alert.matched_plate,
        "matched_on": alert.matched_on,
        "match_type": alert.match_type,
        "entry_plate": alert.entry_plate,
        "reason": alert.entry_reason,
        "alert_type": alert.alert_type,
        "person_description": entry.person_description if entry else None,
        "vehicle_description": entry.vehicle_description if entry else None,
        "list": hot_list.name if hot_list else None,
        "list_category": hot_list.category if hot_list else None,
        "camera": camera.key if camera else None,
        "camera_name": camera.name if camera else None,
        "latitude": read.latitude if read else None,
        "longitude": read.longitude if read else None,
        "captured_at": alert.captured_at.isoformat(),
        "created_at": alert.created_at.isoformat(),
        "read": alert.read_uid,
        "images": sorted(i.kind for i in read.images) if read else [],
    }
    if event == "disposition":
        body.update(
            disposition=alert.disposition,
            action_taken=alert.action_taken,
            note=alert.disposition_note,
            disposed_by=alert.disposed_by,
            plate_confirmed=alert.plate_confirmed,
            clets_result=alert.clets_result,
        )
    return body
