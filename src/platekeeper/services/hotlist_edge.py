"""Hot lists for edge units (HOT-4, Santa Clara): a patrol car takes the lists before deployment and keeps
alerting offline.

An edge unit asks for everything (``since=0``) or for the changes since the version it holds; the
answer carries the new version and is signed with Ed25519 so the unit can tell a genuine list from a
tampered one even when it was relayed. The signing key is derived from the system's secret key (HKDF),
and its public half is served beside the lists.

Authentication goes through ``edge_key``: today an API key holding scope ``hotlists.sync`` in the
``api_key`` table; changing how edge units prove themselves means changing that one function.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.services import api_keys, audit
from platekeeper.services.hotlists import current_version
from platekeeper.store.hotlist_models import HotList, HotListEntry
from platekeeper.store.models import utcnow
from platekeeper.system import System

EDGE_SCOPE = "hotlists.sync"
MAX_PAGE = 50_000
SIGNATURE_HEADER = "X-Platekeeper-Signature"


@dataclass(frozen=True)
class EdgeUnit:
    label: str
    key_prefix: str


def edge_key(session: Session, presented: str) -> EdgeUnit | None:
    """The edge unit a presented key proves, if it may fetch hot lists (scope ``hotlists.sync``)."""
    key = api_keys.authenticate(session, presented, EDGE_SCOPE)
    return EdgeUnit(label=key.label, key_prefix=key.prefix) if key else None


def _signing_key(system: System) -> Ed25519PrivateKey:
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"platekeeper hot-list signing v1").derive(
        system.secret_key
    )
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key(system: System) -> str:
    """Base64 of the raw 32-byte Ed25519 public key edge units verify with."""
    raw = _signing_key(system).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign(system: System, body: bytes) -> str:
    return "ed25519:" + base64.b64encode(_signing_key(system).sign(body)).decode()


def _entry(entry: HotListEntry, hot_list: HotList) -> dict[str, Any]:
    return {
        "id": entry.id,
        "plate": entry.plate,
        "wildcard": entry.wildcard,
        "state": entry.state,
        "list": hot_list.key,
        "category": hot_list.category,
        "alert_type": entry.alert_type,
        "reason": entry.reason,
        "person_description": entry.person_description,
        "vehicle_description": entry.vehicle_description,
        "expires_at": entry.expires_at.isoformat() if entry.expires_at else None,
    }


def package(session: Session, since: int, after_id: int = 0, limit: int = MAX_PAGE) -> dict[str, Any]:
    """Active entries (all, or changed since ``since``) and the ids removed since, one page by entry id.

    Entries of inactive lists and expired entries are sent as removed: an edge unit alerts only on what
    the server would alert on.
    """
    version = current_version(session)
    query = select(HotListEntry, HotList).join(HotList).where(HotListEntry.id > after_id)
    if since > 0:
        query = query.where(HotListEntry.change_seq > since)
    else:
        query = query.where(HotListEntry.status == "active", HotList.active.is_(True))
    rows = session.execute(query.order_by(HotListEntry.id).limit(limit)).all()
    now = utcnow()
    entries, removed = [], []
    for entry, hot_list in rows:
        live = entry.status == "active" and hot_list.active and (entry.expires_at is None or entry.expires_at > now)
        if live:
            entries.append(_entry(entry, hot_list))
        elif since > 0:
            removed.append(entry.id)
    return {
        "version": version,
        "since": since,
        "full": since == 0,
        "entries": entries,
        "removed": removed,
        "next_after_id": rows[-1][0].id if len(rows) == limit else None,
        "generated_at": now.isoformat(),
    }


def signed_package(
    system: System, unit: EdgeUnit, actor: audit.Actor, since: int, after_id: int, limit: int
) -> tuple[bytes, str]:
    """The JSON body and its signature; the fetch is audited (which unit, which version)."""
    with system.sessions() as session, session.begin():
        doc = package(session, since, after_id, limit)
        details = {
            "unit": unit.label,
            "since": since,
            "version": doc["version"],
            "entries": len(doc["entries"]),
            "removed": len(doc["removed"]),
        }
        audit.record(
            session, audit.Event("hotlist.edge_sync", actor, target=f"api_key:{unit.key_prefix}", details=details)
        )
    body = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return body, sign(system, body)
