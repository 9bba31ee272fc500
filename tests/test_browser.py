"""The UI in a real browser: Debian's Chromium driven by Playwright against a live server."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from platekeeper.settings import Settings
from platekeeper.system import System
from platekeeper.web.app import create_app
from tests.conftest import TEST_MASTER_KEY
from tests.helpers import PASSWORD, make_camera, make_user, plate_jpeg

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-results"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(tmp_path: Path, shared_recognizer: object) -> Iterator[tuple[str, System]]:
    settings = Settings(data_dir=tmp_path / "data", master_key=TEST_MASTER_KEY)
    system = System.build(settings, migrate=True)
    system._recognizer = shared_recognizer  # type: ignore[assignment]
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, system=system), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", system
    server.should_exit = True
    thread.join(timeout=5)
    system.close()


@pytest.fixture
def page():  # type: ignore[no-untyped-def]
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium): browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        yield context.new_page()
        browser.close()


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
def test_officer_signs_in_sees_reads_and_opens_one(live_server: tuple[str, System], page) -> None:  # type: ignore[no-untyped-def]
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

    page.wait_for_url(f"{base}/reads")
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
