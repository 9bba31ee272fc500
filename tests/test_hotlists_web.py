"""Hot lists and alerts through real HTTP (the app, its forms and the API) and a real MQTT broker."""

from __future__ import annotations

import base64
import datetime as dt
import json
import queue
import re
import socket
import time
import uuid

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select

from platekeeper.services import alert_senders, api_keys, hotlists
from platekeeper.services.alert_delivery import add_channel as add_alert_channel
from platekeeper.store.db import transaction
from platekeeper.store.hotlist_models import Alert, AlertDelivery, HotListEntry
from platekeeper.store.models import User, utcnow
from platekeeper.system import System
from tests.conftest import ADMIN_ACTOR
from tests.helpers import PURPOSE, client_for, login, make_camera, make_user, plate_jpeg

BROKER = ("127.0.0.1", 1883)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _signed_in(system: System, username: str, role: str, badge: str = "4711") -> TestClient:
    make_user(system, username, role, unit="Robbery Unit")
    with transaction(system.sessions) as session:
        session.scalars(select(User).where(User.username == username)).one().badge_number = badge
    client = client_for(system)
    assert login(client, username) in {200, 303}
    return client


def _post_read(client: TestClient, key: str, plate: str, candidates: tuple[str, ...] = ()) -> str:
    crop = base64.b64encode(plate_jpeg(plate)).decode()
    body = {
        "client_read_id": uuid.uuid4().hex,
        "captured_at": (utcnow() - dt.timedelta(seconds=1)).isoformat(),
        "plate": plate,
        "confidence": 0.9,
        "candidates": [{"plate": plate, "confidence": 0.9}] + [{"plate": c, "confidence": 0.3} for c in candidates],
        "crop_jpeg_base64": crop,
    }
    response = client.post("/api/v1/reads", json=body, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code in {200, 201}, response.text
    return str(response.json()["created"][0]["id"]) if "created" in response.json() else ""


def _enter_and_approve(system: System, officer: TestClient, lieutenant: TestClient, plate: str) -> None:
    page = officer.get("/hotlists/sjpd")
    form = {
        "plate": plate,
        "synopsis": "Vehicle used in an armed robbery (PC 211), Curtner/Monterey",
        "major_crime": "on",
        **PURPOSE,
        "csrf": _csrf(page.text),
    }
    assert officer.post("/hotlists/sjpd/entries", data=form).status_code == 303
    with system.sessions() as session:
        entry_id = session.scalars(select(HotListEntry.id).order_by(HotListEntry.id.desc())).first()
    approvals = lieutenant.get("/hotlists")
    assert f'data-entry="{entry_id}"' in approvals.text
    response = lieutenant.post(f"/hotlists/entries/{entry_id}/approve", data={"csrf": _csrf(approvals.text)})
    assert response.status_code == 303


@pytest.fixture
def setup(system: System) -> tuple[TestClient, TestClient, str]:
    with transaction(system.sessions) as session:
        hotlists.create_list(session, ADMIN_ACTOR, key="sjpd", name="SJPD hot list")
    officer = _signed_in(system, "ofc.diaz", "officer")
    lieutenant = _signed_in(system, "lt.rivera", "lieutenant", badge="1201")
    return officer, lieutenant, make_camera(system)


@pytest.mark.req("HOT-2")
def test_self_approval_through_the_form_is_refused(system: System, setup) -> None:  # type: ignore[no-untyped-def]
    _, lieutenant, _ = setup
    page = lieutenant.get("/hotlists/sjpd")
    form = {"plate": "7ABC123", "synopsis": "Robbery suspect vehicle, PC 211", **PURPOSE, "csrf": _csrf(page.text)}
    assert lieutenant.post("/hotlists/sjpd/entries", data=form).status_code == 303
    with system.sessions() as session:
        entry_id = session.scalars(select(HotListEntry.id)).one()
    response = lieutenant.post(f"/hotlists/entries/{entry_id}/approve", data={"csrf": _csrf(page.text)})
    assert response.status_code == 403 and "cannot approve" in response.text


@pytest.mark.req("HOT-5", "HOT-6")
def test_alert_verify_and_dispose_through_the_pages(system: System, setup) -> None:  # type: ignore[no-untyped-def]
    officer, lieutenant, key = setup
    _enter_and_approve(system, officer, lieutenant, "7ABC123")
    _post_read(officer, key, "7ABC123")
    live = officer.get("/alerts")
    assert live.status_code == 200 and "7ABC123" in live.text
    with system.sessions() as session:
        alert = session.scalars(select(Alert)).one()
    page = officer.get(f"/alerts/{alert.uid}")
    assert "armed robbery" in page.text
    assert officer.get(f"/alerts/{alert.uid}/images/crop.jpg").headers["content-type"] == "image/jpeg"
    csrf = _csrf(page.text)
    early = {"disposition": "arrested", "action_taken": "stopped the vehicle", "csrf": csrf}
    refused = officer.post(f"/alerts/{alert.uid}/dispose", data=early)
    assert refused.status_code == 409 and "confirm visually" in refused.text
    verified = {"plate_confirmed": "yes", "clets_result": "valid", "csrf": csrf}
    assert officer.post(f"/alerts/{alert.uid}/verify", data=verified).status_code == 303
    assert (
        officer.post(f"/alerts/{alert.uid}/dispose", data={**early, "note": "driver arrested for 211"}).status_code
        == 303
    )
    closed = officer.get(f"/alerts/{alert.uid}")
    assert "driver arrested for 211" in closed.text
    report = officer.get("/alerts/accuracy")
    assert "100.0 %" in report.text


def test_alert_pages_need_their_permissions(system: System, setup) -> None:  # type: ignore[no-untyped-def]
    auditor = _signed_in(system, "aud.ito", "auditor")
    assert auditor.get("/alerts").status_code == 403
    assert auditor.get("/hotlists").status_code == 403
    analyst = _signed_in(system, "an.lee", "analyst")
    assert analyst.post("/alerts/x/verify", data={}).status_code == 403


@pytest.mark.req("HOT-4")
def test_edge_unit_gets_signed_lists_and_deltas(system: System, setup) -> None:  # type: ignore[no-untyped-def]
    officer, lieutenant, camera_key = setup
    _enter_and_approve(system, officer, lieutenant, "7ABC123")
    with transaction(system.sessions) as session:
        _, edge_key = api_keys.issue(session, ADMIN_ACTOR, label="patrol car 12", scopes=["hotlists.sync"])
    anonymous = client_for(system)
    assert anonymous.get("/api/v1/hotlists/edge", headers={"Authorization": f"Bearer {camera_key}"}).status_code == 401
    headers = {"Authorization": f"Bearer {edge_key}"}
    full = anonymous.get("/api/v1/hotlists/edge", headers=headers)
    assert full.status_code == 200
    public = base64.b64decode(anonymous.get("/api/v1/hotlists/edge/public-key").json()["public_key"])
    signature = full.headers["x-platekeeper-signature"].removeprefix("ed25519:")
    Ed25519PublicKey.from_public_bytes(public).verify(base64.b64decode(signature), full.content)  # raises if forged
    doc = full.json()
    assert doc["full"] and [e["plate"] for e in doc["entries"]] == ["7ABC123"]
    entry_id = doc["entries"][0]["id"]
    hotlists.remove(system, ADMIN_ACTOR, entry_id, "vehicle recovered")
    delta = anonymous.get("/api/v1/hotlists/edge", params={"since": doc["version"]}, headers=headers).json()
    assert delta["removed"] == [entry_id] and delta["entries"] == [] and delta["version"] > doc["version"]


def _broker_up() -> bool:
    try:
        with socket.create_connection(BROKER, timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.req("HOT-6")
@pytest.mark.skipif(not _broker_up(), reason="no MQTT broker on 127.0.0.1:1883")
def test_alert_published_on_mqtt(system: System, setup) -> None:  # type: ignore[no-untyped-def]
    officer, lieutenant, key = setup
    topic = f"platekeeper-test/{uuid.uuid4().hex}"
    add_alert_channel(system, ADMIN_ACTOR, "mqtt", f"mqtt://{BROKER[0]}:{BROKER[1]}/{topic}", None)
    received: queue.Queue[dict] = queue.Queue()  # type: ignore[type-arg]
    subscriber = mqtt.Client(CallbackAPIVersion.VERSION2)
    subscribed = queue.Queue[bool]()
    subscriber.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    subscriber.on_subscribe = lambda *_: subscribed.put(True)
    subscriber.on_message = lambda _c, _u, msg: received.put(json.loads(msg.payload))
    subscriber.connect(*BROKER)
    subscriber.loop_start()
    try:
        assert subscribed.get(timeout=5)
        _enter_and_approve(system, officer, lieutenant, "7ABC123")
        _post_read(officer, key, "7ABC124", candidates=("7ABC123",))
        message = received.get(timeout=10)
    finally:
        subscriber.loop_stop()
        subscriber.disconnect()
    assert (message["plate"], message["matched_plate"], message["matched_on"]) == ("7ABC124", "7ABC123", "candidate")
    assert "armed robbery" in message["reason"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the sender records the broker's acknowledgement just after it
        with system.sessions() as session:
            sent = session.scalars(select(AlertDelivery.status).where(AlertDelivery.channel_id.is_not(None))).all()
        if sent == ["sent"]:
            break
        time.sleep(0.05)
    assert sent == ["sent"]


@pytest.mark.req("HOT-6")
def test_unreachable_webhook_is_retried_with_backoff(system: System, setup) -> None:  # type: ignore[no-untyped-def]
    from platekeeper.services import alert_delivery

    officer, lieutenant, key = setup
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    add_alert_channel(system, ADMIN_ACTOR, "webhook", f"http://127.0.0.1:{dead}/hook", "s3cret")
    _enter_and_approve(system, officer, lieutenant, "7ABC123")
    _post_read(officer, key, "7ABC123")
    with system.sessions() as session:
        delivery_id = session.scalars(select(AlertDelivery.id).where(AlertDelivery.channel_id.is_not(None))).one()
    assert alert_delivery.attempt(system, delivery_id) is False
    with system.sessions() as session:
        row = session.get(AlertDelivery, delivery_id)
        assert row is not None and row.status == "pending" and row.attempts >= 1 and row.next_attempt_at is not None
        assert "unreachable" in (row.last_error or "")


@pytest.mark.req("HOT-6")
def test_webhook_receives_signed_alert(system: System, setup) -> None:  # type: ignore[no-untyped-def]
    import http.server
    import threading

    from platekeeper.services.alert_senders import sign

    got: queue.Queue[tuple[bytes, str]] = queue.Queue()

    class Receiver(http.server.BaseHTTPRequestHandler):  # the agency's dispatch system, outside platekeeper
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            got.put((body, self.headers.get("x-platekeeper-signature", "")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        officer, lieutenant, key = setup
        url = f"http://127.0.0.1:{server.server_address[1]}/alerts"
        add_alert_channel(system, ADMIN_ACTOR, "webhook", url, "s3cret")
        _enter_and_approve(system, officer, lieutenant, "7ABC123")
        _post_read(officer, key, "7ABC123")
        body, signature = got.get(timeout=10)
    finally:
        server.shutdown()
    assert signature == sign("s3cret", body)
    assert json.loads(body)["plate"] == "7ABC123"


@pytest.mark.req("SEC-1")
@pytest.mark.parametrize(
    ("kind", "target", "allowed"),
    [
        ("webhook", "https://cad.example.gov/alerts", True),
        ("webhook", "http://cad.example.gov/alerts", False),
        ("webhook", "http://127.0.0.1:8080/relay", True),
        ("webhook", "http://localhost/relay", True),
        ("mqtt", "mqtts://broker.example.gov/alerts", True),
        ("mqtt", "mqtt://10.4.0.9:1883/alerts", False),
        ("mqtt", "mqtt://[::1]:1883/alerts", True),
        ("webhook", "ftp://cad.example.gov/alerts", False),
    ],
)
def test_alerts_leave_the_machine_only_encrypted(kind: str, target: str, allowed: bool) -> None:
    if allowed:
        alert_senders.check_target(kind, target)
    else:
        with pytest.raises(alert_senders.SendFailed):
            alert_senders.check_target(kind, target)


def test_a_plain_http_channel_is_refused_on_the_channels_page(system: System) -> None:
    make_user(system, "admin.ui", "admin")
    client = client_for(system)
    login(client, "admin.ui")
    page = client.get("/alerts/channels")
    answer = client.post(
        "/alerts/channels",
        data={"kind": "webhook", "target": "http://cad.example.gov/hook", "csrf": _csrf(page.text)},
    )
    assert answer.status_code == 422
    assert "https://" in answer.text
