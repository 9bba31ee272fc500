"""Deny by default, checked for real: every route of the app, called as every role, against the declared rule.

The expectation comes from two declarations only: the route's access rule (``require(...)``)
and the profile's role permissions. A route added later is covered without touching this file.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from platekeeper.services import access
from platekeeper.store.models import AuditEvent
from platekeeper.system import System
from platekeeper.web.app import DOC_ROUTES
from platekeeper.web.security import AccessRule, declared_routes
from tests.helpers import PURPOSE, client_for, login, make_user

REFUSAL_TEXT = "your role may not do this"
# Long-lived streams (Server-Sent Events) are only opened by roles that are refused at once.
STREAMING = re.compile(r"(stream|/events/live|/sse)")


def _path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template)


def _call(client: TestClient, method: str, path: str) -> tuple[int, str]:
    response = client.request(method, _path(path), params=PURPOSE if method == "GET" else None)
    return response.status_code, response.text


def _routes(system: System) -> list[tuple[str, str, AccessRule]]:
    app = client_for(system).app
    rows = []
    for method, path, rule in declared_routes(list(app.router.routes)):  # type: ignore[attr-defined]
        if path in DOC_ROUTES or method == "HEAD":
            continue
        assert rule is not None, f"{method} {path} declares no access rule"
        rows.append((method, path, rule))
    return rows


def _refusals(system: System) -> int:
    with system.sessions() as session:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type == "access.refused")
        return int(session.scalar(query) or 0)


@pytest.mark.req("ACC-4", "ACC-5", "SEC-3")
def test_every_route_as_every_role_matches_the_declared_matrix(system: System) -> None:
    routes = _routes(system)
    assert len(routes) > 10
    with system.sessions() as session:
        matrix = access.permission_matrix(session, system.profile)
    problems = []
    for role in system.profile.roles:
        username = f"matrix.{role.key.replace('_', '-')}"
        make_user(system, username, role.key)
        client = client_for(system)
        assert login(client, username) == 303, role.key
        for method, path, rule in routes:
            admitted = rule.admits(matrix[role.key])
            if admitted and STREAMING.search(path):
                continue
            before = _refusals(system)
            status, body = _call(client, method, path)
            refused_by_rule = status == 403 and REFUSAL_TEXT in body
            if rule.kind == "camera-key":
                ok = status == 401  # a user's session is no camera key
            elif admitted:
                ok = not refused_by_rule and status != 401 and not (status == 303 and "/login" in body)
            else:
                ok = refused_by_rule and _refusals(system) == before + 1  # refused, and the refusal audited
            if not ok:
                problems.append(f"{role.key:<18} {method:<6} {path:<45} {rule!s:<40} -> {status}")
    assert not problems, "routes that do not match the declared matrix:\n" + "\n".join(problems)


@pytest.mark.req("ACC-2", "SEC-3")
def test_every_non_public_route_refuses_the_anonymous(system: System) -> None:
    client = client_for(system)
    problems = []
    for method, path, rule in _routes(system):
        if rule.kind == "public":
            continue
        response = client.request(method, _path(path), params=PURPOSE if method == "GET" else None)
        if path.startswith("/api/"):
            ok = response.status_code == 401
        else:
            ok = response.status_code == 303 and response.headers["location"].startswith("/login")
            ok = ok or (method != "GET" and response.status_code in {401, 403})
        if not ok:
            problems.append(f"{method} {path} ({rule}) -> {response.status_code}")
    assert not problems, "\n".join(problems)


@pytest.mark.req("ACC-5")
def test_an_administrators_grant_changes_what_the_role_may_call(system: System) -> None:
    make_user(system, "priya", "privacy_officer")
    client = client_for(system)
    login(client, "priya")
    assert client.get("/audit").status_code == 403
    from platekeeper.store.db import transaction
    from tests.conftest import ADMIN_ACTOR

    with transaction(system.sessions) as session:
        access.set_grant(session, system.profile, ADMIN_ACTOR, "privacy_officer", "audit.view", True)
    assert client.get("/audit").status_code == 200
    with transaction(system.sessions) as session:
        access.set_grant(session, system.profile, ADMIN_ACTOR, "privacy_officer", "audit.view", False)
    assert client.get("/audit").status_code == 403
    with pytest.raises(access.AccessError, match="law-enforcement"), transaction(system.sessions) as session:
        access.set_grant(session, system.profile, ADMIN_ACTOR, "privacy_officer", "reads.view", True)
