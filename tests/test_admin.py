"""The administration UI over HTTP (ACC-1..5): accounts, training, approval, sign-in log, review, roles, keys.

Every test drives the real forms (CSRF token included) through the app, on SQLite
and on PostgreSQL, and checks the audit trail as well as the page.
"""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.services import access, api_keys, second_factor
from platekeeper.store.models import AuditEvent, User, utcnow
from platekeeper.system import System
from platekeeper.web import admin
from tests.helpers import client_for, login, make_camera, make_user

NEW_PASSWORD = "Kim's long passphrase 42"


# ---- helpers ----------------------------------------------------------------------------------------------------
def _csrf(client: TestClient, path: str = "/admin/users") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found, page.text
    return found.group(1)


def _post(client: TestClient, path: str, data: dict[str, object], page: str = "/admin/users") -> httpx.Response:
    return client.post(path, data={**data, "csrf": _csrf(client, page)})


def _signed_in(system: System, username: str, role: str, **flags: bool) -> TestClient:
    make_user(system, username, role, **flags)
    client = client_for(system)
    assert login(client, username) == 303
    return client


def _password_step(client: TestClient, username: str, password: str) -> httpx.Response:
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token
    return client.post(
        "/login", data={"username": username, "password": password, "login_csrf": token.group(1), "next": "/reads"}
    )


def _sign_in_enrolling(client: TestClient, username: str, password: str) -> str:
    """Password, then the first-time authenticator set-up: read the key shown, answer with its code."""
    first = _password_step(client, username, password)
    assert first.status_code == 303 and first.headers["location"].startswith("/login/second-factor"), first.text
    page = client.get("/login/second-factor")
    secret = re.search(r'<code class="totp-key">([A-Z2-7]+)</code>', page.text)
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert secret and token, page.text
    code = second_factor.code_at(secret.group(1), utcnow())
    done = client.post("/login/second-factor", data={"code": code, "login_csrf": token.group(1), "next": "/reads"})
    assert done.status_code == 303, done.text
    return str(done.headers["location"])


def _events(system: System, event_type: str) -> list[AuditEvent]:
    with system.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def _user(system: System, username: str) -> User:
    with system.sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        session.expunge(user)
        return user


def _create_kim(client: TestClient, **overrides: str) -> httpx.Response:
    data = {
        "username": "officer.kim",
        "display_name": "Officer Jae Kim",
        "role": "officer",
        "unit": "Patrol West",
        "badge_number": "4471",
        "password": NEW_PASSWORD,
        "password_again": NEW_PASSWORD,
    }
    return _post(client, "/admin/users", {**data, **overrides})


def _train(client: TestClient, username: str, topics: list[str]) -> httpx.Response:
    return _post(
        client,
        f"/admin/users/{username}/training",
        {"completed_on": utcnow().date().isoformat(), "trainer": "Sgt. Alvarez", "topics": topics, "note": "course 7"},
        page=f"/admin/users/{username}",
    )


# ---- accounts and activation (ACC-1) --------------------------------------------------------------------------------
@pytest.mark.req("ACC-1")
def test_admin_creates_a_user_who_cannot_sign_in_before_training(system: System) -> None:
    admin_client = _signed_in(system, "ada", "admin")
    created = _create_kim(admin_client)
    assert created.status_code == 303
    assert created.headers["location"] == "/admin/users/officer.kim?done=created"
    page = admin_client.get("/admin/users/officer.kim?done=created")
    assert "The account was created" in page.text and "Patrol West" in page.text and "4471" in page.text
    assert "needs training" in page.text
    listing = admin_client.get("/admin/users?show=training")
    assert "officer.kim" in listing.text and "ada" not in re.sub(r"<header.*?</header>", "", listing.text, flags=re.S)
    assert [e.target for e in _events(system, "user.create")][-1] == "user:officer.kim"

    kim = client_for(system)
    assert login(kim, "officer.kim", NEW_PASSWORD) == 403
    refused = _password_step(kim, "officer.kim", NEW_PASSWORD)
    assert refused.status_code == 403
    assert "no current training record" in refused.text  # the login page says why


@pytest.mark.req("ACC-1")
def test_create_user_errors_are_shown_and_nothing_is_written(system: System) -> None:
    admin_client = _signed_in(system, "ada", "admin")
    weak = _create_kim(admin_client, password="short", password_again="short")
    assert weak.status_code == 422
    assert "at least 12 characters" in weak.text
    assert 'value="Officer Jae Kim"' in weak.text  # the form keeps what was typed
    mismatch = _create_kim(admin_client, password_again=NEW_PASSWORD + "x")
    assert mismatch.status_code == 422 and "not the same" in mismatch.text
    bad_role = _create_kim(admin_client, role="sheriff")
    assert bad_role.status_code == 422 and "unknown role" in bad_role.text
    taken = _create_kim(admin_client, username="ada")
    assert taken.status_code == 422 and "is taken" in taken.text
    with system.sessions() as session:
        assert session.scalar(select(User).where(User.username == "officer.kim")) is None
    assert [e.target for e in _events(system, "user.create")] == ["user:ada"]


@pytest.mark.req("ACC-1", "ACC-2")
def test_training_then_a_lieutenants_approval_lets_the_officer_sign_in(system: System) -> None:
    admin_client = _signed_in(system, "ada", "admin")
    _create_kim(admin_client)
    partial = _train(admin_client, "officer.kim", ["legal_authorities", "usage_protocol"])
    assert partial.status_code == 303
    lieutenant = _signed_in(system, "lt.diaz", "lieutenant")
    assert "officer.kim" not in lieutenant.get("/admin/approvals").text  # still missing two topics

    early = _post(lieutenant, "/admin/users/officer.kim/approve", {}, page="/admin/users/officer.kim")
    assert early.status_code == 403 and "record the user" in early.text
    assert _events(system, "user.approve_refused")[-1].details["reason"].startswith("record the user's training")

    _train(admin_client, "officer.kim", ["security_measures", "practical_exercise"])
    queue = lieutenant.get("/admin/approvals")
    assert "officer.kim" in queue.text and "Approve Officer Jae Kim" in queue.text
    approved = _post(lieutenant, "/admin/users/officer.kim/approve", {"back": "approvals"}, page="/admin/approvals")
    assert approved.status_code == 303
    assert approved.headers["location"] == "/admin/approvals?done=approved"
    assert "No account is waiting" in lieutenant.get("/admin/approvals?done=approved").text
    kim_row = _user(system, "officer.kim")
    assert kim_row.approved_by_name == "lt.diaz"
    approve = _events(system, "user.approve")[-1]
    assert approve.actor_name == "lt.diaz" and approve.target == "user:officer.kim"
    assert len(_events(system, "user.training")) >= 2

    kim = client_for(system)
    assert _sign_in_enrolling(kim, "officer.kim", NEW_PASSWORD) == "/reads"
    assert kim.get("/reads").status_code == 200


@pytest.mark.req("ACC-1")
def test_self_approval_is_refused_and_audited(system: System) -> None:
    lieutenant = _signed_in(system, "lt.diaz", "lieutenant")
    refused = _post(lieutenant, "/admin/users/lt.diaz/approve", {}, page="/admin/users/lt.diaz")
    assert refused.status_code == 403
    assert "may not approve your own account" in refused.text
    event = _events(system, "user.approve_refused")[-1]
    assert event.outcome == "refused" and event.actor_name == "lt.diaz" and event.target == "user:lt.diaz"


@pytest.mark.req("ACC-1", "ACC-4", "SEC-3")
def test_a_non_supervisor_cannot_approve_or_administer(system: System) -> None:
    make_user(system, "officer.new", "officer", approved=False)
    officer = _signed_in(system, "officer.lee", "officer")
    response = officer.post("/admin/users/officer.new/approve", data={"csrf": _csrf(officer, "/reads")})
    assert response.status_code == 403
    assert _user(system, "officer.new").approved_at is None
    for path in ("/admin/users", "/admin/approvals", "/admin/roles", "/admin/api-keys", "/admin/logins"):
        assert officer.get(path).status_code == 403, path
    refusals = _events(system, "access.refused")
    assert any(e.target == "POST /admin/users/officer.new/approve" for e in refusals)
    # A lieutenant may approve but not create accounts or change roles.
    lieutenant = _signed_in(system, "lt.diaz", "lieutenant")
    assert lieutenant.get("/admin/users").status_code == 200
    assert "Create an account" not in lieutenant.get("/admin/users").text
    assert lieutenant.post("/admin/users", data={"csrf": _csrf(lieutenant)}).status_code == 403
    assert lieutenant.get("/admin/roles").status_code == 403


# ---- account changes ------------------------------------------------------------------------------------------------
@pytest.mark.req("ACC-1", "ACC-3")
def test_disable_enable_unlock_reset_and_update_are_audited(system: System) -> None:
    admin_client = _signed_in(system, "ada", "admin")
    officer = _signed_in(system, "officer.lee", "officer")
    page = "/admin/users/officer.lee"

    no_reason = _post(admin_client, f"{page}/disable", {"reason": " "}, page=page)
    assert no_reason.status_code == 422 and _user(system, "officer.lee").active
    disabled = _post(admin_client, f"{page}/disable", {"reason": "left the unit"}, page=page)
    assert disabled.headers["location"] == f"{page}?done=disabled"
    assert officer.get("/reads").status_code == 303  # the open session ends at once
    assert "disabled (left the unit)" in admin_client.get(page).text
    assert _events(system, "user.disable")[-1].details == {"reason": "left the unit"}
    _post(admin_client, f"{page}/enable", {}, page=page)
    assert _user(system, "officer.lee").active

    wrong = client_for(system)
    for _ in range(system.profile.accounts.lockout_threshold):
        _password_step(wrong, "officer.lee", "not the password at all")
    assert "locked" in admin_client.get("/admin/users?show=locked").text
    assert login(client_for(system), "officer.lee") == 401
    _post(admin_client, f"{page}/unlock", {}, page=page)
    assert login(client_for(system), "officer.lee") == 303

    _post(admin_client, f"{page}/reset-second-factor", {}, page=page)
    assert _user(system, "officer.lee").totp_enrolled_at is None
    updated = _post(
        admin_client,
        f"{page}/update",
        {"role": "analyst", "unit": "Crime Analysis", "badge_number": "9001", "display_name": "Lee Park"},
        page=page,
    )
    assert updated.status_code == 303
    lee = _user(system, "officer.lee")
    assert (lee.role, lee.unit, lee.badge_number, lee.display_name) == ("analyst", "Crime Analysis", "9001", "Lee Park")
    change = _events(system, "user.update")[-1].details
    assert change["role"] == {"from": "officer", "to": "analyst"}
    for kind in ("user.enable", "user.unlock", "user.second_factor_reset"):
        assert _events(system, kind), kind

    own = "/admin/users/ada"
    self_disable = _post(admin_client, f"{own}/disable", {"reason": "testing"}, page=own)
    assert self_disable.status_code == 422 and _user(system, "ada").active
    self_role = _post(admin_client, f"{own}/update", {"role": "officer"}, page=own)
    assert self_role.status_code == 422 and _user(system, "ada").role == "admin"
    assert {e.details.get("reason") for e in _events(system, "access.refused")} >= {
        "you cannot disable your own account"
    }


@pytest.mark.req("SEC-3")
def test_posts_without_the_csrf_token_are_refused(system: System) -> None:
    admin_client = _signed_in(system, "ada", "admin")
    make_user(system, "officer.new", "officer", approved=False)
    form = {"username": "officer.kim", "display_name": "Kim", "role": "officer", "password": NEW_PASSWORD}
    assert admin_client.post("/admin/users", data={**form, "password_again": NEW_PASSWORD}).status_code == 400
    assert admin_client.post("/admin/users/officer.new/approve", data={"csrf": "0" * 64}).status_code == 400
    assert admin_client.post("/admin/roles", data={}).status_code == 400
    assert admin_client.post("/admin/api-keys", data={"label": "x", "scopes": "hotlists.sync"}).status_code == 400
    with system.sessions() as session:
        assert session.scalar(select(User).where(User.username == "officer.kim")) is None
    assert _user(system, "officer.new").approved_at is None
    assert not _events(system, "api_key.create")


@pytest.mark.req("SEC-3")
def test_what_a_user_typed_is_escaped_and_messages_come_from_a_fixed_list(system: System) -> None:
    admin_client = _signed_in(system, "ada", "admin")
    _create_kim(admin_client, display_name="<script>alert(1)</script>", unit='"><img src=x>')
    listing = admin_client.get("/admin/users")
    assert "<script>alert(1)</script>" not in listing.text and "&lt;script&gt;" in listing.text
    assert '"><img src=x>' not in listing.text
    page = admin_client.get("/admin/users/officer.kim", params={"done": "<b>you have been hacked</b>"})
    assert "hacked" not in page.text


# ---- sign-in log (ACC-3) --------------------------------------------------------------------------------------------
@pytest.mark.req("ACC-3")
def test_sign_in_log_shows_failed_logons_with_source_address(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    admin_client = _signed_in(system, "ada", "admin")
    make_user(system, "officer.lee", "officer")
    _password_step(client_for(system), "officer.lee", "not the password at all")
    _password_step(client_for(system), "nobody.here", "whatever it may be")

    page = admin_client.get("/admin/logins", params={"failures": "true"})
    assert page.status_code == 200
    rows = re.findall(r"<tr class=\"failure\">(.*?)</tr>", page.text, flags=re.S)
    assert len(rows) == 2
    assert any("officer.lee" in r and "wrong password" in r and "testclient" in r for r in rows)
    assert any("nobody.here" in r and "unknown user" in r for r in rows)
    assert "signed in" not in page.text.split("<tbody>")[1]  # failures only

    everything = admin_client.get("/admin/logins", params={"username": "ada"})
    assert "signed in" in everything.text and "with second factor" in everything.text
    assert "officer.lee" not in everything.text.split("<tbody>")[1]
    views = _events(system, "logins.view")
    assert views[-1].actor_name == "ada" and views[-1].details["user"] == "ada"
    assert views[-2].details["failures_only"] is True

    monkeypatch.setattr(admin, "PAGE_SIZE", 2)
    first = admin_client.get("/admin/logins")
    older = re.search(r'href="(/admin/logins\?before=\d+)"', first.text)
    assert older, first.text
    second = admin_client.get(older.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and 'href="/admin/logins"' in second.text  # a way back to the newest


# ---- access review --------------------------------------------------------------------------------------------------
@pytest.mark.req("ACC-1", "ACC-4")
def test_access_review_lists_roles_and_last_use_as_csv(system: System) -> None:
    admin_client = _signed_in(system, "ada", "admin")
    make_user(system, "officer.lee", "officer")
    make_user(system, "officer.new", "officer", approved=False)
    auditor = _signed_in(system, "aud.ito", "auditor")

    page = auditor.get("/admin/access-review")
    assert page.status_code == 200 and "System administrator" in page.text
    response = admin_client.get("/admin/access-review.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = {r["username"]: r for r in csv.DictReader(io.StringIO(response.text))}
    assert set(rows) == {"ada", "officer.lee", "officer.new", "aud.ito"}
    assert rows["ada"]["role"] == "admin" and rows["ada"]["last_sign_in"] and rows["ada"]["last_used"]
    assert rows["officer.lee"]["last_sign_in"] == "" and rows["officer.lee"]["status"] == "active"
    assert rows["officer.new"]["status"] == "awaiting approval"
    assert rows["aud.ito"]["role"] == "auditor"
    formats = [e.details["format"] for e in _events(system, "access_review.view")]
    assert formats == ["html", "csv"]
    officer = _signed_in(system, "officer.ray", "officer")
    assert officer.get("/admin/access-review.csv").status_code == 403


# ---- roles and permissions (ACC-4, ACC-5) ---------------------------------------------------------------------------
def _matrix_form(system: System) -> list[str]:
    with system.sessions() as session:
        matrix = access.permission_matrix(session, system.profile)
    return sorted(f"{role}:{perm}" for role, perms in matrix.items() for perm in perms)


@pytest.mark.req("ACC-5", "PRK-4")
def test_police_data_permission_for_a_parking_role_is_refused(system: System) -> None:
    admin_client = _signed_in(system, "ada", "admin")
    page = admin_client.get("/admin/roles")
    box = re.search(r'<input type="checkbox" name="grant" value="parking_staff:reads.view"[^>]*>', page.text)
    assert box and "disabled" in box.group(0) and "checked" not in box.group(0)
    assert "may only be given to law-enforcement roles" in page.text

    before = _matrix_form(system)
    crafted = [*before, "parking_staff:reads.view", "officer:logins.view"]
    refused = _post(admin_client, "/admin/roles", {"grant": crafted}, page="/admin/roles")
    assert refused.status_code == 403
    assert "Nothing was saved" in refused.text and "law-enforcement roles" in refused.text
    assert _matrix_form(system) == before  # all or nothing: the officer grant was rolled back too
    event = _events(system, "role.grant")[-1]
    assert event.outcome == "refused" and event.target == "role:parking_staff"
    assert event.details["permission"] == "reads.view"


@pytest.mark.req("ACC-5", "ACC-4")
def test_granting_and_removing_a_permission_changes_what_the_role_can_call(system: System) -> None:
    admin_client = _signed_in(system, "ada", "admin")
    officer = _signed_in(system, "officer.lee", "officer")
    assert officer.get("/admin/logins").status_code == 403

    granted = _post(
        admin_client, "/admin/roles", {"grant": [*_matrix_form(system), "officer:logins.view"]}, "/admin/roles"
    )
    assert granted.headers["location"] == "/admin/roles?done=roles_saved"
    assert officer.get("/admin/logins").status_code == 200
    assert 'value="officer:logins.view" checked' in admin_client.get("/admin/roles").text
    event = _events(system, "role.grant")[-1]
    assert event.outcome == "allowed" and event.details == {
        "permission": "logins.view",
        "granted": True,
        "held_before": False,
    }

    removed = [g for g in _matrix_form(system) if g != "officer:logins.view"]
    _post(admin_client, "/admin/roles", {"grant": removed}, "/admin/roles")
    assert officer.get("/admin/logins").status_code == 403
    assert _events(system, "role.grant")[-1].details["granted"] is False
    unchanged = _post(admin_client, "/admin/roles", {"grant": _matrix_form(system)}, "/admin/roles")
    assert unchanged.headers["location"] == "/admin/roles?done=unchanged"


# ---- API keys --------------------------------------------------------------------------------------------------------
def _issue(client: TestClient, **form: object) -> str:
    response = _post(client, "/admin/api-keys", form, page="/admin/api-keys")
    assert response.status_code == 200, response.text
    key = re.search(r'<code class="api-key">(pkc_[^<]+)</code>', response.text)
    assert key, response.text
    return key.group(1)


def _edge_read(client_read_id: str) -> dict[str, object]:
    return {
        "client_read_id": client_read_id,
        "captured_at": "2026-05-01T17:30:00-07:00",
        "plate": "8XYZ123",
        "confidence": 0.93,
    }


@pytest.mark.req("ACC-2", "SEC-3")
def test_an_api_key_issued_in_the_ui_works_for_its_scope_only_until_revoked(system: System) -> None:
    make_camera(system, "cam-1")
    admin_client = _signed_in(system, "ada", "admin")
    no_camera = _post(admin_client, "/admin/api-keys", {"label": "x", "scopes": ["reads.ingest"]}, "/admin/api-keys")
    assert no_camera.status_code == 422 and "belongs to a camera" in no_camera.text

    camera_key = _issue(admin_client, label="Tully Rd camera", scopes=["reads.ingest"], camera="cam-1")
    edge_key = _issue(admin_client, label="Patrol car 14", scopes=["hotlists.sync"], expires_days="30")
    with system.sessions() as session, session.begin():
        assert api_keys.authenticate(session, edge_key, "hotlists.sync") is not None
        assert api_keys.authenticate(session, edge_key, "reads.ingest") is None
        assert api_keys.authenticate(session, camera_key, "hotlists.sync") is None
    client = client_for(system)
    ok = client.post("/api/v1/reads", json=_edge_read("ui-1"), headers={"Authorization": f"Bearer {camera_key}"})
    assert ok.status_code == 201, ok.text
    wrong_scope = client.post("/api/v1/reads", json=_edge_read("ui-2"), headers={"Authorization": f"Bearer {edge_key}"})
    assert wrong_scope.status_code == 401

    listing = admin_client.get("/admin/api-keys")
    assert camera_key not in listing.text and "Tully Rd camera" in listing.text and "Camera cam-1" in listing.text
    assert all(camera_key not in str(e.details) for e in _events(system, "api_key.create"))
    prefix = camera_key.split("_")[1]
    revoked = _post(admin_client, f"/admin/api-keys/{prefix}/revoke", {"reason": "camera stolen"}, "/admin/api-keys")
    assert revoked.headers["location"] == "/admin/api-keys?done=key_revoked"
    gone = client.post("/api/v1/reads", json=_edge_read("ui-3"), headers={"Authorization": f"Bearer {camera_key}"})
    assert gone.status_code == 401
    assert _events(system, "api_key.revoke")[-1].details == {"reason": "camera stolen"}
    assert "revoked" in admin_client.get("/admin/api-keys").text


# ---- JSON equivalents ------------------------------------------------------------------------------------------------
@pytest.mark.req("ACC-3", "SEC-3")
def test_the_json_reports_follow_the_same_rules(system: System) -> None:
    auditor = _signed_in(system, "aud.ito", "auditor")
    _password_step(client_for(system), "aud.ito", "not the password at all")
    log = auditor.get("/api/v1/admin/logins", params={"failures": "true"})
    assert log.status_code == 200
    entry = log.json()["entries"][0]
    assert entry["username"] == "aud.ito" and entry["failure"] and entry["source_ip"] == "testclient"
    review = auditor.get("/api/v1/admin/access-review")
    assert review.status_code == 200 and review.json()[0]["username"] == "aud.ito"
    assert [e.details["format"] for e in _events(system, "access_review.view")] == ["json"]
    assert _events(system, "logins.view")[-1].actor_name == "aud.ito"
    officer = _signed_in(system, "officer.lee", "officer")
    assert officer.get("/api/v1/admin/logins").status_code == 403
    assert officer.get("/api/v1/admin/access-review").status_code == 403
    assert client_for(system).get("/api/v1/admin/access-review").status_code == 401
