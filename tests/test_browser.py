"""The UI in a real browser: Debian's Chromium driven by Playwright against a live server."""

from __future__ import annotations

import pytest

from platekeeper.services import second_factor
from platekeeper.store.models import utcnow
from platekeeper.system import System
from tests.conftest import SCREENSHOTS
from tests.helpers import PASSWORD, TOTP_SECRETS, fill_purpose, make_camera, make_user, plate_jpeg

pytestmark = pytest.mark.browser


def _ingest(base: str, key: str, plate: str, seed: int) -> None:
    import httpx

    response = httpx.post(
        f"{base}/api/v1/reads",
        headers={"Authorization": f"Bearer {key}"},
        data={"captured_at": "2026-05-01T10:00:00Z", "client_read_id": f"r-{plate}"},
        files={"image": ("car.jpg", plate_jpeg(plate, seed), "image/jpeg")},
        timeout=60,
    )
    assert response.status_code == 201, response.text


@pytest.mark.slow
@pytest.mark.req("AUD-1", "ACC-2")
def test_officer_signs_in_sees_reads_and_opens_one(
    shared_recognizer: object, live_server: tuple[str, System], page
) -> None:  # type: ignore[no-untyped-def]
    base, system = live_server
    key = make_camera(system, "fixed-1")
    make_user(system, "officer.lee", "officer")
    _ingest(base, key, "7ABC123", 3)
    _ingest(base, key, "5XYZ789", 5)

    page.goto(f"{base}/reads")
    assert "/login" in page.url
    page.get_by_label("Username").fill("officer.lee")
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    page.get_by_label("Username").fill("officer.lee")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/login/second-factor**")
    page.get_by_label("Six-digit code").fill(second_factor.code_at(TOTP_SECRETS["officer.lee"], utcnow()))
    page.get_by_role("button", name="Continue").click()

    page.wait_for_url(f"{base}/reads")
    fill_purpose(page)  # USE-1: no reads are shown before the purpose is stated
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/reads?**")
    rows = page.locator("table.reads tbody tr")
    assert rows.count() == 2
    assert page.get_by_role("link", name="7ABC123").is_visible()
    thumb = page.get_by_alt_text("Plate crop of 7ABC123")
    assert thumb.evaluate("img => img.naturalWidth") > 0
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "reads.png"), full_page=True)

    page.get_by_role("link", name="7ABC123").click()
    frame = page.get_by_alt_text("Full frame of read 7ABC123")
    frame.wait_for()
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(SCREENSHOTS / "read.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.screenshot(path=str(SCREENSHOTS / "read-phone.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/login")
