"""Scoped, hashed, revocable API keys for cameras and edge units (ACC-2)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from platekeeper.services import api_keys
from platekeeper.services.cameras import get_camera
from platekeeper.store.db import transaction
from platekeeper.store.models import ApiKey, AuditEvent
from platekeeper.system import System
from tests.conftest import ADMIN_ACTOR
from tests.helpers import client_for, make_camera


def _edge_read() -> dict[str, object]:
    return {"client_read_id": "k-1", "captured_at": "2026-05-01T17:30:00Z", "plate": "8XYZ123", "confidence": 0.9}


@pytest.mark.req("ACC-2", "SEC-3")
def test_keys_are_stored_hashed_scoped_and_revocable(system: System) -> None:
    camera_key = make_camera(system, "cam-1")
    with transaction(system.sessions) as session:
        _, edge_key = api_keys.issue(session, ADMIN_ACTOR, label="patrol car 12", scopes=["hotlists.sync"])
    with system.sessions() as session:
        stored = [k.secret_hash for k in session.scalars(select(ApiKey))]
        secrets_ = [key.split("_", 2)[2] for key in (camera_key, edge_key)]  # pkc_<prefix>_<secret>
        assert all(len(s) > 40 and s not in h for s in secrets_ for h in stored)
        details = [str(e.details) for e in session.scalars(select(AuditEvent))]
        assert not any(camera_key in d or edge_key in d for d in details)  # keys are never recorded
    with transaction(system.sessions) as session:
        assert api_keys.authenticate(session, edge_key, "hotlists.sync") is not None
        assert api_keys.authenticate(session, edge_key, "reads.ingest") is None  # out of scope
        assert api_keys.authenticate(session, camera_key[:-2] + "xx", "reads.ingest") is None
    client = client_for(system)
    assert (
        client.post("/api/v1/reads", json=_edge_read(), headers={"Authorization": f"Bearer {edge_key}"}).status_code
        == 401
    )
    ok = client.post("/api/v1/reads", json=_edge_read(), headers={"Authorization": f"Bearer {camera_key}"})
    assert ok.status_code == 201, ok.text
    with transaction(system.sessions) as session:
        api_keys.revoke(session, ADMIN_ACTOR, camera_key.split("_")[1], reason="camera replaced")
    refused = client.post("/api/v1/reads", json=_edge_read(), headers={"Authorization": f"Bearer {camera_key}"})
    assert refused.status_code == 401


def test_a_new_camera_key_replaces_the_old_one(system: System) -> None:
    old = make_camera(system, "cam-1")
    from platekeeper.services.cameras import issue_api_key

    with transaction(system.sessions) as session:
        new = issue_api_key(session, ADMIN_ACTOR, get_camera(session, "cam-1"))
    with transaction(system.sessions) as session:
        assert api_keys.authenticate(session, old, "reads.ingest") is None
        assert api_keys.authenticate(session, new, "reads.ingest") is not None


def test_bad_key_requests_are_refused_clearly(system: System) -> None:
    camera = make_camera(system, "cam-1")
    with transaction(system.sessions) as session:
        with pytest.raises(api_keys.ApiKeyError, match="belongs to a camera"):
            api_keys.issue(session, ADMIN_ACTOR, label="x", scopes=["reads.ingest"])
        with pytest.raises(api_keys.ApiKeyError, match="scopes"):
            api_keys.issue(session, ADMIN_ACTOR, label="x", scopes=["everything"])
        with pytest.raises(api_keys.ApiKeyError, match="no API key"):
            api_keys.revoke(session, ADMIN_ACTOR, "deadbeef")
    assert camera.startswith("pkc_")


@pytest.mark.req("ACC-2")
def test_a_camera_key_revoked_elsewhere_stops_working_within_a_second(
    system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Camera keys proven in the last ``PROVEN_FOR_S`` are not looked up again; a revocation made by
    another process (here: straight in the database) is seen once that time has passed, and a revocation
    made in this process at once."""
    camera_key = make_camera(system, "cam-1")
    assert api_keys.authenticate_camera(system.sessions, camera_key) is not None
    with transaction(system.sessions) as session:
        row = session.scalars(select(ApiKey).where(ApiKey.camera_id.is_not(None))).one()
        row.revoked_at = row.created_at  # as another server process would, without this one knowing
    assert api_keys.authenticate_camera(system.sessions, camera_key) is not None  # still proven, < 1 s ago
    monkeypatch.setattr(api_keys, "PROVEN_FOR_S", 0.0)
    assert api_keys.authenticate_camera(system.sessions, camera_key) is None
    assert api_keys.authenticate_camera(system.sessions, camera_key[:-2] + "xx") is None  # never remembered

    monkeypatch.setattr(api_keys, "PROVEN_FOR_S", 3600.0)
    second = make_camera(system, "cam-2")
    assert api_keys.authenticate_camera(system.sessions, second) is not None
    with transaction(system.sessions) as session:
        api_keys.revoke(session, ADMIN_ACTOR, second.split("_")[1], reason="unit retired")
    assert api_keys.authenticate_camera(system.sessions, second) is None  # revoked here: forgotten at once
