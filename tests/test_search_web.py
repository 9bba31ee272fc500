"""Search, canvass, exports and the location report over HTTP, as the roles that use them (and those that may not)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from platekeeper.store.models import AuditEvent, EvidenceExport, ReadHold
from platekeeper.system import System
from tests.helpers import client_for, login, make_camera, make_user, plate_jpeg
from tests.test_search import START, load_city

PURPOSE = {"purpose": "criminal_investigation", "case_number": "26-000777", "presumed_crime": "PC 211 robbery"}


def _events(system: System, event_type: str) -> list[AuditEvent]:
    with system.sessions() as session:
        return list(
            session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.seq))
        )


def _signed_in(system: System, username: str, role: str):  # type: ignore[no-untyped-def]
    make_user(system, username, role)
    client = client_for(system)
    assert login(client, username) == 303
    return client


@pytest.mark.req("USE-1", "USE-4", "AUD-1")
def test_analyst_searches_with_a_purpose_and_every_criterion_is_audited(system: System) -> None:
    data = load_city(system, reads=800)
    plate = data.reads[5].plate
    client = _signed_in(system, "ana", "analyst")
    params = {"plate": plate[:2] + "?" + plate[3:] + "*", "since": f"{START}T00:00:00Z", "colour": "", **PURPOSE}
    response = client.get("/api/v1/search/reads?" + urlencode(params))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] >= 1 and data.reads[5].uid in {r["id"] for r in body["results"]}
    event = _events(system, "search.reads")[-1]
    assert event.actor_name == "ana" and event.details["case_number"] == "26-000777"
    assert event.details["criteria"]["plate"] == params["plate"] and event.details["criteria"]["mode"] == "wildcard"
    assert event.details["criteria"]["since"].startswith(str(START))
    assert event.details["result_count"] == body["count"] and plate in event.details["plates"]
    fuzzy = client.get("/api/v1/search/reads?" + urlencode({"plate": plate, "mode": "fuzzy", **PURPOSE})).json()
    assert fuzzy["results"][0]["closeness"] in {"exact", "confusable"}
    nothing = client.get("/api/v1/search/reads?" + urlencode({"plate": "QQQ9Q9Q", **PURPOSE}))
    assert nothing.status_code == 200 and nothing.json()["count"] == 0
    assert _events(system, "search.reads")[-1].details["result_count"] == 0


@pytest.mark.req("USE-1", "AUD-1")
def test_a_search_without_purpose_is_refused_and_audited(system: System) -> None:
    load_city(system, reads=100)
    client = _signed_in(system, "ana", "analyst")
    response = client.get("/api/v1/search/reads?plate=7ABC123")
    assert response.status_code == 422 and response.json()["refusal"] == "missing"
    refused = _events(system, "purpose.refused")[-1]
    assert refused.target == "search.reads" and refused.details["criteria"]["plate"] == "7ABC123"
    assert _events(system, "search.reads") == []
    prohibited = client.get("/api/v1/search/reads?" + urlencode({**PURPOSE, "plate": "7*", "purpose": "immigration"}))
    assert prohibited.status_code == 403
    page = client.get("/search?plate=7ABC123")
    assert page.status_code == 422 and "purpose" in page.text.lower()


@pytest.mark.req("SHR-4", "PRK-4")
def test_parking_staff_see_nothing_of_police_data_and_cannot_tell_it_exists(system: System) -> None:
    client = _signed_in(system, "pat", "parking_staff")
    query = "/api/v1/search/reads?" + urlencode({"plate": "7*", **PURPOSE})
    empty = client.get(query)
    load_city(system, reads=400)
    after = client.get(query)
    assert empty.status_code == after.status_code == 200
    assert {k: v for k, v in empty.json().items()} == {k: v for k, v in after.json().items()}
    assert after.json()["count"] == 0
    canvass = {"lat": 37.33, "lon": -121.89, "at": f"{START}T18:00:00Z", "radius_m": 5000, "minutes": 1440}
    assert client.get("/api/v1/search/canvass?" + urlencode({**canvass, **PURPOSE})).json()["count"] == 0
    assert client.get("/api/v1/search/reads.csv?" + urlencode(PURPOSE)).status_code == 403
    assert (
        client.post("/api/v1/evidence?" + urlencode(PURPOSE), json={"reads": ["x"], "reason": "r"}).status_code == 403
    )


@pytest.mark.req("USE-4", "AUD-1")
def test_canvass_and_csv_over_http(system: System) -> None:
    data = load_city(system, reads=1500)
    anchor = data.reads[42]
    client = _signed_in(system, "ana", "analyst")
    scene = {"lat": anchor.latitude, "lon": anchor.longitude, "at": anchor.captured_at.isoformat(), "radius_m": 500,
             "minutes": 120}  # fmt: skip
    body = client.get("/api/v1/search/canvass?" + urlencode({**scene, **PURPOSE})).json()
    plates = {g["plate"] for g in body["groups"]}
    assert anchor.plate in plates and body["count"] == sum(g["count"] for g in body["groups"])
    page = client.get("/canvass?" + urlencode({**scene, **PURPOSE}))
    assert page.status_code == 200 and anchor.plate in page.text and 'id="map"' in page.text
    exported = client.get("/api/v1/search/reads.csv?" + urlencode({"plate": anchor.plate, **PURPOSE}))
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert anchor.uid in {r["read_id"] for r in rows}
    assert _events(system, "search.export_csv")[-1].details["result_count"] == len(rows)


@pytest.mark.req("RET-3", "RET-2", "AUD-1")
def test_evidence_export_packages_images_hashes_and_custody_and_holds_the_reads(system: System) -> None:
    key = make_camera(system, "fixed-1")
    camera = client_for(system)
    response = camera.post(
        "/api/v1/reads",
        headers={"Authorization": f"Bearer {key}"},
        json={"client_read_id": "e-1", "captured_at": "2026-05-01T10:00:00Z", "plate": "7ABC123", "confidence": 0.9,
              "crop_jpeg_base64": __import__("base64").b64encode(plate_jpeg("7ABC123")).decode()},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    uid = response.json()["created"][0]["id"]
    client = _signed_in(system, "ana", "analyst")
    refused = client.post("/api/v1/evidence", json={"reads": [uid], "reason": "discovery"})
    assert refused.status_code == 422
    package = client.post(
        "/api/v1/evidence?" + urlencode(PURPOSE), json={"reads": [uid, "nope"], "reason": "discovery"}
    )
    assert package.status_code == 200, package.text
    assert hashlib.sha256(package.content).hexdigest() == package.headers["x-evidence-sha256"]
    archive = zipfile.ZipFile(io.BytesIO(package.content))
    names = set(archive.namelist())
    assert {"custody.json", "reads.csv", "reads.json", "SHA256SUMS", f"images/{uid}-crop.jpg"} <= names
    for line in archive.read("SHA256SUMS").decode().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest
    custody = json.loads(archive.read("custody.json"))
    assert custody["exported_by"]["username"] == "ana" and custody["why"]["reason"] == "discovery"
    assert custody["why"]["case_number"] == "26-000777" and [r["read_id"] for r in custody["what"]] == [uid]
    with system.sessions() as session:
        record = session.scalars(select(EvidenceExport)).one()
        holds = list(session.scalars(select(ReadHold)))
    assert record.package_sha256 == package.headers["x-evidence-sha256"] and record.read_uids == [uid]
    assert [h.read_uid for h in holds] == [uid] and holds[0].released_at is None
    event = _events(system, "evidence.export")[-1]
    assert event.details["plates"] == ["7ABC123"] and event.details["criteria"]["reads"] == [uid, "nope"]
    page = client.get("/exports")
    assert page.status_code == 200 and record.package_sha256 in page.text


@pytest.mark.req("REP-2", "AUD-1")
def test_privacy_officer_sees_locations_without_plates(system: System) -> None:
    data = load_city(system, reads=300)
    client = _signed_in(system, "pia", "privacy_officer")
    response = client.get("/api/v1/locations")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 300 and body["plates"] == "withheld"
    text = response.text
    assert not any(r.plate in text for r in data.reads if len(r.plate) >= 5)
    assert {"latitude", "longitude", "captured_at", "hit"} <= set(body["rows"][0])
    assert sum(p["reads"] for p in body["by_place"]) == 300
    assert client.get("/locations").status_code == 200
    assert client.get("/api/v1/search/reads?" + urlencode({"plate": "7*", **PURPOSE})).status_code == 403
    assert _events(system, "locations.view")[-1].details["result_count"] == 300
