"""Small builders shared by the tests: users, cameras, signed-in clients, plate images."""

from __future__ import annotations

import re
from functools import cache

import cv2
from fastapi.testclient import TestClient

from platekeeper.demo.scenes import render_scene
from platekeeper.policy.access import needs_second_factor
from platekeeper.services import access, second_factor
from platekeeper.services.cameras import attest_public_view, create_camera, issue_api_key
from platekeeper.services.users import create_user
from platekeeper.store.db import transaction
from platekeeper.store.models import User, utcnow
from platekeeper.system import System
from platekeeper.web.app import create_app
from tests.conftest import ADMIN_ACTOR

PASSWORD = "correct horse battery staple"
# An authorised purpose (USE-1), as query parameters or form fields.
PURPOSE = {
    "purpose": "criminal_investigation",
    "case_number": "SJ-26-004211",
    "presumed_crime": "PC 10851 vehicle theft",
}


TOTP_SECRETS: dict[str, str] = {}  # username -> TOTP secret of users made by make_user


def make_user(
    system: System,
    username: str,
    role: str,
    *,
    trained: bool = True,
    approved: bool = True,
    enrolled: bool = True,
    unit: str = "Test Unit",
) -> None:
    """A user as an administrator would leave it: by default trained, approved and (if needed) TOTP-enrolled."""
    with transaction(system.sessions) as session:
        user = create_user(
            session,
            system.profile,
            ADMIN_ACTOR,
            username=username,
            password=PASSWORD,
            role=role,
            display_name=username.title(),
            unit=unit,
            badge_number=f"T{sum(map(ord, username)) % 100000:05d}",
        )
        if trained:
            access.record_training(
                session,
                system.profile,
                ADMIN_ACTOR,
                user,
                topics=list(system.profile.training.topics),
                completed_on=utcnow().date(),
                trainer="Sgt. Trainer",
            )
        if trained and approved:
            access.approve(session, system.profile, ADMIN_ACTOR, user, approver=None)
        if enrolled and needs_second_factor(system.profile, system.profile.role(role)):
            secret = second_factor.new_secret()
            user.totp_secret_enc = second_factor.encrypt_secret(system.field_key, secret)
            user.totp_enrolled_at = utcnow()
            TOTP_SECRETS[username] = secret


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
    """Sign in through the real forms, second factor included; the status of the last step."""
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token, page.text
    response = client.post(
        "/login", data={"username": username, "password": password, "login_csrf": token.group(1), "next": "/reads"}
    )
    if response.status_code == 303 and response.headers["location"].startswith("/login/second-factor"):
        return int(second_factor_step(client, username).status_code)
    return int(response.status_code)


def second_factor_step(client: TestClient, username: str):  # type: ignore[no-untyped-def]
    """Answer the second-factor form with the current code (tests reuse users within one 30 s step)."""
    system: System = client.app.state.system  # type: ignore[attr-defined]
    with transaction(system.sessions) as session:
        user = session.query(User).filter_by(username=username).one()
        user.totp_last_step = None  # replay protection is tested on its own; here it would only slow tests
    page = client.get("/login/second-factor")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token, page.text
    code = second_factor.code_at(TOTP_SECRETS[username], utcnow())
    return client.post("/login/second-factor", data={"code": code, "login_csrf": token.group(1), "next": "/reads"})


@cache
def plate_jpeg(plate: str = "7ABC123", seed: int = 3) -> bytes:
    image = render_scene(plate, seed, colour="white", angle_deg=0.0, lighting="day", size=(960, 540), plate_px=170)
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return bytes(buffer.tobytes())


def browser_login(page, base: str, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Sign a Playwright page in through the forms, answering the second factor when the role needs one."""
    system_secret = TOTP_SECRETS.get(username)
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    if "/login/second-factor" in page.url:
        assert system_secret, f"{username} has no TOTP secret in TOTP_SECRETS"
        page.get_by_label("Six-digit code").fill(second_factor.code_at(system_secret, utcnow()))
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()


def fill_purpose(page, purpose: dict[str, str] = PURPOSE) -> None:  # type: ignore[no-untyped-def]
    """Fill the purpose fieldset (USE-1) on the current page."""
    page.get_by_label("Purpose", exact=True).select_option(purpose["purpose"])
    page.get_by_label("Case or incident number").fill(purpose.get("case_number", ""))
    page.get_by_label("No case number because").fill(purpose.get("no_case_reason", ""))
    page.get_by_label("Presumed crime").fill(purpose["presumed_crime"])
