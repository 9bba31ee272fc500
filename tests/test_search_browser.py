"""Canvass a scene on the map and export the reads to evidence, in a real browser (Chromium via Playwright)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from platekeeper.system import System
from tests.conftest import SCREENSHOTS
from tests.helpers import PURPOSE, browser_login, make_user
from tests.test_search import load_city

pytestmark = pytest.mark.browser


@pytest.mark.req("USE-4", "RET-3", "AUD-1", "USE-1")
def test_analyst_canvasses_a_scene_on_the_map_and_exports_evidence(live_server: tuple[str, System], page) -> None:  # type: ignore[no-untyped-def]
    base, system = live_server
    data = load_city(system, reads=600)
    anchor = data.reads[17]
    make_user(system, "ana.lytic", "analyst")
    browser_login(page, base, "ana.lytic")

    page.goto(f"{base}/canvass")
    page.locator("#map svg").click(position={"x": 300, "y": 150})  # placing the scene on the map fills the fields
    assert page.locator("#area-lat").input_value() and page.locator("#area-radius").input_value() == "500"
    assert page.locator("#map-scene").count() == 1
    page.locator("#area-lat").fill(str(anchor.latitude))
    page.locator("#area-lon").fill(str(anchor.longitude))
    local = anchor.captured_at.astimezone(system.profile.zone)
    page.get_by_label("Time of the incident").fill(local.strftime("%Y-%m-%dT%H:%M"))
    page.locator("select[name=purpose]").select_option(PURPOSE["purpose"])
    page.locator("input[name=case_number]").fill(PURPOSE["case_number"])
    page.locator("input[name=presumed_crime]").fill(PURPOSE["presumed_crime"])
    page.get_by_role("button", name="Canvass").click()
    page.wait_for_url(f"{base}/canvass?**")
    assert page.locator("ul.groups li").count() >= 1
    assert page.locator(".plate", has_text=anchor.plate).first.is_visible()
    assert page.locator("#map circle.map-read").count() >= 1
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "canvass.png"), full_page=True)

    ticked = page.locator("input[name=read]").count()
    page.get_by_label("Reason for the export").fill("discovery for the DA")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export evidence").click()
    archive = zipfile.ZipFile(io.BytesIO(open(info.value.path(), "rb").read()))  # noqa: SIM115
    custody = json.loads(archive.read("custody.json"))
    assert custody["exported_by"]["username"] == "ana.lytic" and len(custody["what"]) == ticked
    assert anchor.uid in {r["read_id"] for r in custody["what"]}

    page.goto(f"{base}/exports")
    assert page.get_by_text("discovery for the DA").is_visible()
