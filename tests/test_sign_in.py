"""Signing in through the real forms: training, approval, lockout, second factor, idleness (ACC-1..3)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.services import access, second_factor
from platekeeper.store.db import transaction
from platekeeper.store.models import AuditEvent, TrainingRecord, User, utcnow
from platekeeper.system import System
from tests.conftest import ADMIN_ACTOR
from tests.helpers import PASSWORD, PURPOSE, TOTP_SECRETS, client_for, login, make_user


def _events(system: System, event_type: str) -> list[AuditEvent]:
    with system.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type)))


def _password_step(client: TestClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token
    return client.post("/login", data={"username": username, "password": password, "login_csrf": token.group(1)})


def _change_user(system: System, username: str, **values: object) -> None:
    with transaction(system.sessions) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        for name, value in values.items():
            setattr(user, name, value)


@pytest.mark.req("ACC-1")
def test_an_account_without_training_cannot_sign_in_even_with_the_right_password(system: System) -> None:
    make_user(system, "new.hire", "auditor", trained=False)
    client = client_for(system)
    response = _password_step(client, "new.hire")
    assert response.status_code == 403 and "training" in response.text
    assert "pk_session" not in client.cookies
    refused = _events(system, "auth.login_failed")[-1]
    assert refused.actor_name == "new.hire" and "training" in refused.details["reason"]


@pytest.mark.req("ACC-1")
def test_a_trained_account_waits_for_approval(system: System) -> None:
    make_user(system, "trained.only", "auditor", approved=False)
    response = _password_step(client_for(system), "trained.only")
    assert response.status_code == 403 and "approval" in response.text


@pytest.mark.req("ACC-1")
def test_expired_training_ends_an_open_session(system: System) -> None:
    make_user(system, "audrey", "auditor")
    client = client_for(system)
    assert login(client, "audrey") == 303
    assert client.get("/").headers["location"] == "/audit"  # signed in: an auditor starts at the audit log
    with transaction(system.sessions) as session:
        for record in session.scalars(select(TrainingRecord)):
            session.delete(record)  # stands in for a year passing: no current training left
    assert client.get("/").headers["location"] == "/login"  # the session no longer counts


@pytest.mark.req("ACC-3")
def test_repeated_failures_lock_the_account_and_are_shown_as_failures(system: System) -> None:
    make_user(system, "audrey", "auditor")
    client = client_for(system)
    for _ in range(system.profile.accounts.lockout_threshold):
        assert _password_step(client, "audrey", "wrong password entirely").status_code == 401
    assert _password_step(client, "audrey").status_code == 401  # right password, but locked
    lock = _events(system, "auth.lockout")
    assert len(lock) == 1 and lock[0].target == "user:audrey" and lock[0].source_ip == "testclient"
    failures = _events(system, "auth.login_failed")
    assert failures[-1].details["reason"] == "account locked"
    with transaction(system.sessions) as session:
        access.unlock(session, ADMIN_ACTOR, access.get_user(session, "audrey"))
    assert login(client, "audrey") == 303


def test_unknown_users_and_wrong_passwords_get_the_same_answer(system: System) -> None:
    make_user(system, "audrey", "auditor")
    unknown = _password_step(client_for(system), "nobody.here", "wrong password entirely")
    wrong = _password_step(client_for(system), "audrey", "wrong password entirely")
    assert unknown.status_code == wrong.status_code == 401
    assert re.sub(r'value="[^"]+"', "", unknown.text) == re.sub(r'value="[^"]+"', "", wrong.text)


@pytest.mark.req("ACC-2")
def test_law_enforcement_roles_need_the_second_factor(system: System) -> None:
    make_user(system, "officer.lee", "officer")
    client = client_for(system)
    response = _password_step(client, "officer.lee")
    assert response.status_code == 303 and response.headers["location"].startswith("/login/second-factor")
    assert "pk_session" not in client.cookies
    # A session that still owes its code opens nothing.
    client.cookies.set("pk_session", client.cookies.get("pk_pending") or "")
    assert client.get("/reads", params=PURPOSE).status_code == 303
    client.cookies.delete("pk_session")
    page = client.get("/login/second-factor")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token
    wrong = client.post("/login/second-factor", data={"code": "000000", "login_csrf": token.group(1)})
    assert wrong.status_code == 401
    code = second_factor.code_at(TOTP_SECRETS["officer.lee"], utcnow())
    right = client.post("/login/second-factor", data={"code": code, "login_csrf": token.group(1)})
    assert right.status_code == 303 and "pk_session" in client.cookies
    assert _events(system, "auth.login")[-1].details == {"second_factor": True}
    # The same code cannot be used again (replay).
    again = client_for(system)
    _password_step(again, "officer.lee")
    page = again.get("/login/second-factor")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token
    replay = again.post("/login/second-factor", data={"code": code, "login_csrf": token.group(1)})
    assert replay.status_code == 401


@pytest.mark.req("ACC-2")
def test_first_sign_in_enrols_an_authenticator(system: System) -> None:
    make_user(system, "officer.kim", "officer", enrolled=False)
    client = client_for(system)
    _password_step(client, "officer.kim")
    page = client.get("/login/second-factor")
    secret = re.search(r'<code class="totp-key">([A-Z2-7]+)</code>', page.text)
    assert secret and "data:image/svg+xml" in page.text
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token
    code = second_factor.code_at(secret.group(1), utcnow())
    assert client.post("/login/second-factor", data={"code": code, "login_csrf": token.group(1)}).status_code == 303
    assert _events(system, "auth.second_factor_enrolled")[-1].actor_name == "officer.kim"
    with system.sessions() as session:
        user = session.scalars(select(User).where(User.username == "officer.kim")).one()
        assert user.totp_enrolled_at is not None and secret.group(1) not in (user.totp_secret_enc or "")


@pytest.mark.req("ACC-1")
def test_idle_accounts_are_disabled_at_sign_in(system: System) -> None:
    make_user(system, "audrey", "auditor")
    long_ago = utcnow() - dt.timedelta(days=system.profile.accounts.idle_disable_days + 1)
    _change_user(system, "audrey", last_login_at=long_ago, approved_at=long_ago, created_at=long_ago)
    response = _password_step(client_for(system), "audrey")
    assert response.status_code == 403 and "idle" in response.text
    disabled = _events(system, "user.disable")[-1]
    assert disabled.target == "user:audrey" and "idle" in disabled.details["reason"]
    with transaction(system.sessions) as session:
        access.enable(session, ADMIN_ACTOR, access.get_user(session, "audrey"))
    assert login(client_for(system), "audrey") == 303


@pytest.mark.req("ACC-2", "SEC-3")
def test_session_cookie_flags(system: System) -> None:
    make_user(system, "audrey", "auditor")
    client = client_for(system)
    response = _password_step(client, "audrey")
    cookie = response.headers["set-cookie"]
    assert "pk_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


@pytest.mark.req("ACC-4")
def test_sworn_members_carry_a_badge_number(system: System) -> None:
    from platekeeper.services.users import UserError, create_user

    with pytest.raises(UserError, match="badge"), transaction(system.sessions) as session:
        create_user(
            session,
            system.profile,
            ADMIN_ACTOR,
            username="officer.nobadge",
            password=PASSWORD,
            role="officer",
            display_name="No Badge",
            unit="Patrol",
        )
    with system.sessions() as session:  # nothing half-written
        assert session.scalars(select(User).where(User.username == "officer.nobadge")).first() is None
