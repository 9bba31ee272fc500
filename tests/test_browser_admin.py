"""The administration UI in a real browser: a supervisor activates a trained officer (ACC-1)."""

from __future__ import annotations

import pytest

from platekeeper.services import second_factor
from platekeeper.store.models import utcnow
from platekeeper.system import System
from tests.conftest import SCREENSHOTS
from tests.helpers import browser_login, make_user

pytestmark = pytest.mark.browser

KIM_PASSWORD = "Kim's long passphrase 42"


def _sign_out(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")


@pytest.mark.req("ACC-1", "ACC-2", "ACC-4")
def test_admin_creates_and_trains_an_officer_a_lieutenant_approves_and_the_officer_signs_in(
    live_server: tuple[str, System], page
) -> None:  # type: ignore[no-untyped-def]
    base, system = live_server
    make_user(system, "ada", "admin")
    make_user(system, "lt.diaz", "lieutenant")
    SCREENSHOTS.mkdir(exist_ok=True)

    # The administrator creates the account ...
    browser_login(page, base, "ada")
    page.get_by_role("link", name="Users").first.click()
    page.wait_for_url(f"{base}/admin/users")
    page.get_by_label("Username").fill("officer.kim")
    page.get_by_label("Full name").fill("Officer Jae Kim")
    page.get_by_label("Role").select_option(label="Sworn officer")
    page.get_by_label("Unit or assignment").fill("Patrol West")
    page.get_by_label("Badge number").fill("4471")
    page.get_by_label("Initial password", exact=True).fill(KIM_PASSWORD)
    page.get_by_label("Initial password again").fill(KIM_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{base}/admin/users/officer.kim?done=created")
    assert page.get_by_role("status").inner_text().startswith("The account was created")
    assert "needs training" in page.locator(".page-head .acct").inner_text()

    # ... and records the training, every topic.
    page.get_by_label("Trainer").fill("Sgt. Alvarez")
    for box in page.locator("fieldset.topics input[type=checkbox]").all():
        box.check()
    page.get_by_label("Note").fill("ALPR course, spring session")
    page.get_by_role("button", name="Save training record").click()
    page.wait_for_url(f"{base}/admin/users/officer.kim?done=training")
    assert "awaiting approval" in page.locator(".page-head .acct").inner_text()
    assert page.get_by_role("cell", name="Sgt. Alvarez").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "admin-user.png"), full_page=True)
    page.goto(f"{base}/admin/users")
    assert page.get_by_role("row", name="Officer Jae Kim").get_by_text("awaiting approval").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "admin-users.png"), full_page=True)
    page.get_by_role("link", name="Roles and permissions").click()
    assert page.get_by_label("Parking staff: reads.view (not allowed: police data)").is_disabled()
    page.screenshot(path=str(SCREENSHOTS / "admin-roles.png"), full_page=True)
    _sign_out(page)

    # The lieutenant approves it from the approvals page.
    browser_login(page, base, "lt.diaz")
    page.goto(f"{base}/admin/approvals")
    row = page.get_by_role("row", name="Officer Jae Kim")
    assert row.is_visible()
    page.screenshot(path=str(SCREENSHOTS / "admin-approvals.png"), full_page=True)
    row.get_by_role("button", name="Approve Officer Jae Kim").click()
    page.wait_for_url(f"{base}/admin/approvals?done=approved")
    assert "approved" in page.get_by_role("status").inner_text()
    assert page.get_by_text("No account is waiting for approval.").is_visible()
    _sign_out(page)

    # The officer signs in, sets up the authenticator, and lands on the reads page.
    page.get_by_label("Username").fill("officer.kim")
    page.get_by_label("Password").fill(KIM_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/login/second-factor**")
    secret = page.locator("code.totp-key").inner_text().strip()
    page.get_by_label("Six-digit code").fill(second_factor.code_at(secret, utcnow()))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/reads")
    assert page.get_by_text("Officer Jae Kim").is_visible()
    assert page.get_by_role("link", name="Users").count() == 0  # an officer sees no administration
