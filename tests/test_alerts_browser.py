"""A live alert in a real browser: a read is ingested, the alert appears on the officer's page, is verified
and disposed (HOT-5, HOT-6)."""

from __future__ import annotations

import base64
import datetime as dt
import time

import httpx
import pytest

from platekeeper.services import hotlists, second_factor
from platekeeper.store.db import transaction
from platekeeper.store.models import utcnow
from platekeeper.system import System
from tests.conftest import ADMIN_ACTOR, SCREENSHOTS
from tests.helpers import PASSWORD, TOTP_SECRETS, make_camera, plate_jpeg
from tests.hotlist_helpers import active_entry, member

pytestmark = pytest.mark.browser


def _sign_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/alerts")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/login/second-factor**")
    page.get_by_label("Six-digit code").fill(second_factor.code_at(TOTP_SECRETS[username], utcnow()))
    page.get_by_role("button", name="Continue").click()


@pytest.mark.req("HOT-5", "HOT-6")
def test_alert_appears_live_then_is_verified_and_disposed(live_server: tuple[str, System], page) -> None:  # type: ignore[no-untyped-def]
    base, system = live_server
    with transaction(system.sessions) as session:
        hotlists.create_list(session, ADMIN_ACTOR, key="sjpd", name="SJPD hot list")
    officer = member(system, "ofc.diaz", "officer")
    lieutenant = member(system, "lt.rivera", "lieutenant", badge="1201")
    active_entry(system, officer, lieutenant, "7ABC123")
    key = make_camera(system, "fixed-1")

    _sign_in(page, base, "ofc.diaz")
    page.wait_for_url(f"{base}/alerts")
    page.get_by_text("live", exact=True).wait_for(timeout=5000)
    body = {
        "client_read_id": "live-1",
        "captured_at": (utcnow() - dt.timedelta(seconds=1)).isoformat(),
        "plate": "7ABC123",
        "confidence": 0.95,
        "crop_jpeg_base64": base64.b64encode(plate_jpeg("7ABC123")).decode(),
    }
    response = httpx.post(f"{base}/api/v1/reads", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    answered = time.monotonic()
    assert response.status_code == 201, response.text
    banner = page.get_by_role("alert")
    banner.filter(has_text="HIT: 7ABC123").wait_for(timeout=3000)
    assert time.monotonic() - answered < 2.0  # the issue asks for a second; leave room on a loaded test machine
    crop = page.get_by_alt_text("Plate crop of 7ABC123").first
    crop.wait_for()
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "alert-live.png"), full_page=True)

    page.get_by_role("link", name="Verify now").first.click()
    page.wait_for_url(f"{base}/alerts/*")
    assert page.get_by_text("armed robbery").is_visible()
    page.get_by_label("Action taken").fill("vehicle stopped")
    page.get_by_role("button", name="Record disposition").click()
    assert "confirm visually" in page.get_by_role("alert").inner_text()  # HOT-5: no action before verifying

    page.get_by_label("Yes").check()
    page.get_by_label("CLETS verification result").select_option("valid")
    page.get_by_role("button", name="Record verification").click()
    page.wait_for_url(f"{base}/alerts/*")
    page.get_by_label("Action taken").fill("vehicle stopped at Curtner/Malone")
    page.get_by_label("Final disposition").select_option("arrested")
    page.get_by_label("Notes").fill("driver arrested for 211")
    page.get_by_role("button", name="Record disposition").click()
    page.wait_for_url(f"{base}/alerts/*")
    assert page.locator(".disposition").inner_text().startswith("Stopped, arrest made")
    page.screenshot(path=str(SCREENSHOTS / "alert-disposed.png"), full_page=True)
