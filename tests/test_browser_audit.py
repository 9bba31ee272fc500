"""The audit pages in a real browser (AUD-3): an auditor draws a sample, assesses it, signs off, downloads the CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from platekeeper.services import audit
from platekeeper.system import System
from tests.conftest import SCREENSHOTS
from tests.helpers import PURPOSE, browser_login, make_user

pytestmark = pytest.mark.browser
OFFICER = audit.Actor(type="user", id="9001", name="officer.lee", role="officer", agency="SJPD", unit="Patrol")


def _accesses(system: System) -> None:
    """What an officer's day leaves in the trail: two opened reads and a wildcard search refused."""
    for plate in ("7ABC123", "5XYZ789"):
        audit.record_alone(
            system.sessions, audit.Event("read.view", OFFICER, details={**PURPOSE, "plate": plate, "result_count": 1})
        )
    audit.record_alone(
        system.sessions,
        audit.Event(
            "purpose.refused",
            OFFICER,
            outcome="refused",
            details={"criteria": {"plate": "7AB*"}, "refusal": "prohibited", "reason": "immigration enforcement"},
        ),
    )


@pytest.mark.req("AUD-3", "AUD-1")
def test_auditor_draws_assesses_signs_off_and_downloads(live_server: tuple[str, System], page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, system = live_server
    make_user(system, "auditor.ray", "auditor", unit="City Auditor")
    _accesses(system)
    browser_login(page, base, "auditor.ray")

    page.goto(f"{base}/audit")
    assert page.get_by_role("heading", name="Audit log").is_visible()
    assert page.locator("table.audit-log tbody tr").filter(has_text="officer.lee").count() == 3
    page.get_by_label("User", exact=True).fill("officer.lee")
    page.get_by_label("Outcome").select_option("refused")
    page.get_by_role("button", name="Show").click()
    assert page.locator("table.audit-log tbody tr").count() == 1
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "audit-log.png"), full_page=True)

    page.get_by_role("link", name="Audit samples").click()
    page.get_by_label("How many accesses to check").fill("3")
    page.get_by_role("button", name="Draw sample").click()
    page.wait_for_url(f"{base}/audit/samples/*")
    items = page.locator("li.audit-item")
    assert items.count() == 3
    refused = items.filter(has_text="purpose.refused")
    refused.locator(".flag", has_text="wildcard").wait_for()
    assert refused.locator(".flag", has_text="refused").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "audit-sample.png"), full_page=True)

    assert page.get_by_text("Assess every access before signing off").is_visible()
    for index in range(3):
        item = page.locator("li.audit-item").nth(index)
        if "purpose.refused" in item.inner_text():
            item.get_by_label("Concern", exact=True).check()
            item.get_by_label("Finding").fill("Refused search: ask the officer's sergeant what it was for.")
        else:
            item.get_by_label("Compliant", exact=True).check()
        with page.expect_navigation():  # each save reloads the page; wait for the new one before the next item
            item.get_by_role("button", name=f"Save assessment of access {index + 1}").click()
    assert page.locator("li.audit-item.assessed").count() == 3
    assert page.locator(".verdict-concern").is_visible()

    page.get_by_label("Conclusion of this audit").fill("Two compliant views; one refused search followed up.")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign off").click()
    assert page.get_by_text("Signed off by auditor.ray").is_visible()
    assert page.locator("form.audit-finding").count() == 0  # read-only now
    page.screenshot(path=str(SCREENSHOTS / "audit-signed-off.png"), full_page=True)

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    target = tmp_path / "report.csv"
    info.value.save_as(target)
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    header = dict(r for r in rows if len(r) == 2)
    assert header["Conclusion"].startswith("Two compliant views") and header["Audit chain"].startswith("intact")
    table = rows[next(i for i, r in enumerate(rows) if r and r[0] == "audit_seq") :]
    assert sorted(r[table[0].index("assessment")] for r in table[1:]) == ["compliant", "compliant", "concern"]

    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.screenshot(path=str(SCREENSHOTS / "audit-sample-phone.png"), full_page=True)
