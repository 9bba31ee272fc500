"""The web app over HTTP: health, login, deny by default, reads pages, audited views."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from sqlalchemy import func, select

from platekeeper.services import audit
from platekeeper.store.models import AuditEvent, Read
from platekeeper.system import System
from platekeeper.web import api
from platekeeper.web.app import create_app
from tests.helpers import PURPOSE, client_for, login, make_camera, make_user, plate_jpeg


def _events(system: System, event_type: str) -> list[AuditEvent]:
    with system.sessions() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.seq))
        )


def test_healthz_and_docs_are_public(system: System) -> None:
    client = client_for(system)
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["database"] == "ok"
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/static-docs/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert client.get("/static-docs/swagger-ui-bundle.js").status_code == 200
    assert "/api/v1/reads" in client.get("/openapi.json").json()["paths"]


@pytest.mark.req("SEC-3")
def test_a_route_without_an_access_rule_stops_the_app(system: System) -> None:
    rogue = APIRouter()

    @rogue.get("/api/v1/rogue")
    def _rogue() -> dict[str, str]:
        return {}

    saved = list(api.router.routes)
    api.router.include_router(rogue)
    try:
        with pytest.raises(RuntimeError, match="without an access rule"):
            create_app(system.settings, system=system)
    finally:
        api.router.routes[:] = saved


@pytest.mark.req("ACC-2", "ACC-3", "AUD-1")
def test_login_success_and_failure_are_audited_with_source_address(system: System) -> None:
    make_user(system, "jdoe", "officer")
    client = client_for(system)
    assert login(client, "jdoe", "wrong password here") == 401
    assert login(client, "nobody", "whatever-password") == 401
    assert login(client, "jdoe") == 303
    failed = _events(system, "auth.login_failed")
    assert [e.details["reason"] for e in failed] == ["wrong password", "unknown user"]
    ok = _events(system, "auth.login")
    assert len(ok) == 1 and ok[0].actor_name == "jdoe" and ok[0].source_ip == "testclient"


def test_login_form_needs_its_csrf_token(system: System) -> None:
    make_user(system, "jdoe", "officer")
    client = client_for(system)
    response = client.post("/login", data={"username": "jdoe", "password": "correct horse battery staple"})
    assert response.status_code == 400
    assert "pk_session" not in response.cookies


def test_open_redirect_after_login_is_refused(system: System) -> None:
    make_user(system, "jdoe", "officer")
    client = client_for(system)
    page = client.get("/login?next=//evil.example/x")
    assert 'name="next" value="/"' in page.text and "evil" not in page.text


@pytest.mark.req("SEC-3")
def test_unauthenticated_requests_are_refused(system: System) -> None:
    client = client_for(system)
    assert client.get("/reads").status_code == 303
    assert client.get("/reads").headers["location"].startswith("/login")
    assert client.get("/api/v1/reads").status_code == 401
    assert client.get("/reads/x/images/frame.jpg").status_code == 303


@pytest.mark.req("ACC-5", "PRK-4", "SEC-3")
def test_roles_without_permission_are_refused_and_audited(system: System) -> None:
    make_user(system, "park", "parking_staff")
    make_user(system, "audrey", "auditor")
    for username in ("park", "audrey"):
        client = client_for(system)
        assert login(client, username) == 303
        assert client.get("/api/v1/reads", params=PURPOSE).status_code in {200, 403}
    auditor = client_for(system)
    login(auditor, "audrey")
    assert auditor.get("/api/v1/reads", params=PURPOSE).status_code == 403
    assert auditor.get("/reads", params=PURPOSE).status_code == 403
    refused = _events(system, "access.refused")
    assert refused and refused[-1].actor_name == "audrey" and refused[-1].outcome == "refused"


def _edge_read(client_read_id: str = "edge-0001", plate: str = "8XYZ123") -> dict[str, object]:
    return {
        "client_read_id": client_read_id,
        "captured_at": "2026-05-01T17:30:00-07:00",
        "plate": plate,
        "confidence": 0.93,
        "candidates": [{"plate": plate, "confidence": 0.93}, {"plate": "8XY2123", "confidence": 0.4}],
        "box": [100, 200, 120, 40],
        "region": "us-ca",
        "vehicle": {"colour": "blue"},
    }


@pytest.mark.req("CAP-1")
def test_edge_read_is_stored_once_per_client_read_id(system: System) -> None:
    key = make_camera(system)
    client = client_for(system)
    headers = {"Authorization": f"Bearer {key}"}
    first = client.post("/api/v1/reads", json=_edge_read(), headers=headers)
    assert first.status_code == 201, first.text
    created = first.json()["created"][0]
    assert created["plate"] == "8XYZ123" and created["captured_at"].startswith("2026-05-02T00:30:00")
    again = client.post("/api/v1/reads", json=_edge_read(), headers=headers)
    assert again.status_code == 200
    assert again.json()["duplicates"][0]["id"] == created["id"] and again.json()["created"] == []
    with system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Read)) == 1


@pytest.mark.req("SEC-3")
def test_wrong_api_key_is_refused_audited_and_stores_nothing(system: System) -> None:
    make_camera(system)
    client = client_for(system)
    for headers in ({}, {"Authorization": "Bearer pkc_deadbeef_notthekey"}, {"X-API-Key": "garbage"}):
        response = client.post("/api/v1/reads", json=_edge_read(), headers=headers)
        assert response.status_code == 401
        assert "key" in response.json()["detail"]
    assert len(_events(system, "read.ingest_refused")) == 3
    with system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Read)) == 0


@pytest.mark.req("SEC-3")
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"plate": "7abc-123"}, "plate"),
        ({"captured_at": "yesterday"}, "captured_at"),
        ({"confidence": 3}, "confidence"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_malformed_edge_reads_get_a_clear_422(system: System, change: dict[str, object], field: str) -> None:
    key = make_camera(system)
    body = {**_edge_read(), **change}
    response = client_for(system).post("/api/v1/reads", json=body, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 422
    assert field in {p["field"] for p in response.json()["problems"]}
    with system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Read)) == 0


@pytest.mark.req("CAP-3")
def test_a_camera_without_public_view_attestation_cannot_deliver(system: System) -> None:
    key = make_camera(system, attested=False)
    response = client_for(system).post("/api/v1/reads", json=_edge_read(), headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 403 and "attestation" in response.json()["detail"]
    assert _events(system, "read.ingest_refused")[-1].outcome == "refused"


@pytest.mark.req("CAP-3")
def test_an_edge_read_inside_a_privacy_mask_is_refused(system: System) -> None:
    key = make_camera(system, masks=[[[0, 0], [400, 0], [400, 400], [0, 400]]])
    response = client_for(system).post("/api/v1/reads", json=_edge_read(), headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 422 and "privacy mask" in response.json()["detail"]


@pytest.mark.req("SEC-3")
def test_unreadable_and_missing_uploads_are_refused_and_leave_nothing(system: System) -> None:
    key = make_camera(system)
    client = client_for(system)
    headers = {"Authorization": f"Bearer {key}"}
    bad = client.post(
        "/api/v1/reads",
        headers=headers,
        data={"captured_at": "2026-05-01T10:00:00Z"},
        files={"image": ("x.jpg", b"this is not a jpeg", "image/jpeg")},
    )
    assert bad.status_code == 422 and "could not be decoded" in bad.json()["detail"]
    missing = client.post(
        "/api/v1/reads",
        headers=headers,
        data={"captured_at": "2026-05-01T10:00:00Z"},
        files={"other": ("x.txt", b"x", "text/plain")},
    )
    assert missing.status_code == 422 and "'image'" in missing.json()["detail"]
    no_time = client.post("/api/v1/reads", headers=headers, files={"image": ("x.jpg", plate_jpeg(), "image/jpeg")})
    assert no_time.status_code == 422 and "captured_at" in no_time.json()["detail"]
    wrong_type = client.post("/api/v1/reads", headers={**headers, "content-type": "text/plain"}, content=b"hello")
    assert wrong_type.status_code == 415
    with system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Read)) == 0
    assert not any(system.images.root.rglob("*.pkimg")) if system.images.root.exists() else True


@pytest.mark.slow
@pytest.mark.req("CAP-1", "AUD-1", "SEC-1")
def test_image_upload_is_read_stored_encrypted_and_viewed_with_audit(system: System, shared_recognizer: object) -> None:
    key = make_camera(system)
    make_user(system, "ana", "analyst")
    client = client_for(system)
    response = client.post(
        "/api/v1/reads",
        headers={"Authorization": f"Bearer {key}"},
        data={"captured_at": "2026-05-01T10:00:00Z", "client_read_id": "cam1-000042"},
        files={"image": ("car.jpg", plate_jpeg("7ABC123"), "image/jpeg")},
    )
    assert response.status_code == 201, response.text
    read = response.json()["created"][0]
    assert read["plate"] == "7ABC123" and read["images"] == ["crop", "frame"]
    assert all(b"JFIF" not in p.read_bytes() for p in system.images.root.rglob("*.pkimg"))

    assert login(client, "ana") == 303
    page = client.get("/reads", params=PURPOSE)
    assert page.status_code == 200 and "7ABC123" in page.text and "data:image/jpeg;base64," in page.text
    detail = client.get(f"/reads/{read['id']}", params=PURPOSE)
    assert detail.status_code == 200 and f"/reads/{read['id']}/images/frame.jpg?purpose=" in detail.text
    image = client.get(f"/reads/{read['id']}/images/crop.jpg", params=PURPOSE)
    assert image.status_code == 200 and image.content.startswith(b"\xff\xd8")
    assert image.headers["cache-control"].startswith("no-store")
    listed = _events(system, "reads.list")[-1]
    assert listed.actor_name == "ana" and listed.details["plates"] == ["7ABC123"]
    assert listed.details["purpose"] == "criminal_investigation" and listed.details["case_number"] == "SJ-26-004211"
    assert _events(system, "read.view")[-1].target == f"read:{read['id']}"
    assert _events(system, "image.view")[-1].target == f"read:{read['id']}/crop"
    assert audit.verify(system.sessions).ok


def test_security_headers_are_set(system: System) -> None:
    response = client_for(system).get("/login")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
