"""Small builders shared by the tests: users, cameras, signed-in clients, plate images."""

from __future__ import annotations

import re
from functools import cache

import cv2
from fastapi.testclient import TestClient

from platekeeper.demo.scenes import render_scene
from platekeeper.services.cameras import attest_public_view, create_camera, issue_api_key
from platekeeper.services.users import create_user
from platekeeper.store.db import transaction
from platekeeper.system import System
from platekeeper.web.app import create_app
from tests.conftest import ADMIN_ACTOR

PASSWORD = "correct horse battery staple"


def make_user(system: System, username: str, role: str) -> None:
    with transaction(system.sessions) as session:
        create_user(
            session,
            system.profile,
            ADMIN_ACTOR,
            username=username,
            password=PASSWORD,
            role=role,
            display_name=username.title(),
            unit="Test Unit",
        )


def make_camera(
    system: System,
    key: str = "cam-1",
    *,
    attested: bool = True,
    kind: str = "fixed",
    masks: list[list[list[float]]] | None = None,
) -> str:
    """A camera with an API key; returns the key."""
    with transaction(system.sessions) as session:
        camera = create_camera(
            session,
            system.profile,
            ADMIN_ACTOR,
            key=key,
            name=f"Camera {key}",
            kind=kind,
            latitude=37.3 if kind == "fixed" else None,
            longitude=-121.9 if kind == "fixed" else None,
            masks=masks or [],
        )
        if attested:
            attest_public_view(
                session,
                ADMIN_ACTOR,
                camera,
                attested_by="Test Lieutenant",
                statement="Covers the public roadway of Test St only.",
            )
        return issue_api_key(session, ADMIN_ACTOR, camera)


def client_for(system: System) -> TestClient:
    return TestClient(create_app(system.settings, system=system), follow_redirects=False)


def login(client: TestClient, username: str, password: str = PASSWORD) -> int:
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token, page.text
    response = client.post(
        "/login", data={"username": username, "password": password, "login_csrf": token.group(1), "next": "/reads"}
    )
    return response.status_code


@cache
def plate_jpeg(plate: str = "7ABC123", seed: int = 3) -> bytes:
    image = render_scene(plate, seed, colour="white", angle_deg=0.0, lighting="day", size=(960, 540), plate_px=170)
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return bytes(buffer.tobytes())
