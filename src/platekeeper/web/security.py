"""Who may call what. Every route depends on exactly one access rule from here.

``create_app`` refuses to start when a route lacks one: deny by default.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from platekeeper.policy.access import sign_in_block
from platekeeper.policy.permissions import ALL_PERMISSIONS
from platekeeper.services import access, audit, users
from platekeeper.services.reads import Viewer
from platekeeper.store.models import utcnow
from platekeeper.system import System

SESSION_COOKIE = "pk_session"
LOGIN_CSRF_COOKIE = "pk_login_csrf"
ACCESS_ATTR = "__platekeeper_access__"


class NotAuthenticated(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, permission: str) -> None:
        super().__init__(permission)
        self.permission = permission


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    display_name: str
    role: str
    role_label: str
    permissions: frozenset[str]
    agency: str
    unit: str | None
    source_ip: str | None
    session_token: str

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor(
            type="user",
            id=str(self.user_id),
            name=self.username,
            role=self.role,
            agency=self.agency,
            unit=self.unit,
            source_ip=self.source_ip,
        )

    @property
    def viewer(self) -> Viewer:
        return Viewer(actor=self.actor, permissions=self.permissions)

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def system_of(request: Request) -> System:
    system: System = request.app.state.system
    return system


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


LAST_SEEN_RESOLUTION = dt.timedelta(minutes=5)  # write "last used" at most this often per user


def _principal(request: Request) -> Principal | None:
    """The signed-in user, checked again on every request: a lapsed training or a lock ends the session."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    system = system_of(request)
    with system.sessions() as session, session.begin():
        user = users.resolve_session(session, token)
        if user is None:
            return None
        session.refresh(user, ["trainings"])
        if sign_in_block(system.profile, access.account_state(system.profile, user), utcnow()):
            return None
        now = utcnow()
        if user.last_seen_at is None or now - user.last_seen_at > LAST_SEEN_RESOLUTION:
            user.last_seen_at = now
        role = system.profile.role(user.role)
        return Principal(
            user_id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            role_label=role.label if role else user.role,
            permissions=access.role_permissions(session, system.profile, user.role),
            agency=user.agency.name,
            unit=user.unit,
            source_ip=client_ip(request),
            session_token=token,
        )


@dataclass(frozen=True)
class AccessRule:
    """What a route declared: who may call it. ``permissions`` admit a role holding any one of them."""

    kind: str  # public | signed-in | permission | camera-key
    permissions: tuple[str, ...] = ()

    def __str__(self) -> str:
        return " or ".join(f"`{p}`" for p in self.permissions) if self.kind == "permission" else self.kind

    def admits(self, role_permissions: frozenset[str]) -> bool:
        """Whether a signed-in user with these permissions gets past the rule (cameras never do)."""
        if self.kind in {"public", "signed-in"}:
            return True
        return self.kind == "permission" and any(p in role_permissions for p in self.permissions)


def _mark(rule: Callable[..., Any], kind: str, permissions: tuple[str, ...] = ()) -> Callable[..., Any]:
    setattr(rule, ACCESS_ATTR, AccessRule(kind, permissions))
    return rule


def public() -> Callable[..., Any]:
    """Anyone, signed in or not: only for pages that reveal no ALPR data."""

    def rule(request: Request) -> Principal | None:
        return _principal(request)

    return _mark(rule, "public")


def signed_in() -> Callable[..., Any]:
    """Any signed-in user, whatever the role: pages that hold no data of their own."""

    def rule(request: Request) -> Principal:
        principal = _principal(request)
        if principal is None:
            raise NotAuthenticated()
        return principal

    return _mark(rule, "signed-in")


def require(*any_of: str) -> Callable[..., Any]:
    """A signed-in user whose role holds at least one of the permissions; refusals are audited."""

    def rule(request: Request) -> Principal:
        principal = _principal(request)
        if principal is None:
            raise NotAuthenticated()
        if not any(principal.can(p) for p in any_of):
            audit.record_alone(
                system_of(request).sessions,
                audit.Event(
                    "access.refused",
                    principal.actor,
                    outcome="refused",
                    target=f"{request.method} {request.url.path}",
                    details={"needs_any_of": list(any_of)},
                ),
            )
            raise Forbidden(" or ".join(any_of))
        return principal

    unknown = [p for p in any_of if p not in ALL_PERMISSIONS]
    if unknown or not any_of:
        raise ValueError(f"a route must name declared permissions, not {unknown or 'none'}")
    return _mark(rule, "permission", tuple(any_of))


def camera_key() -> Callable[..., Any]:
    """Cameras and edge units, by their API key; checked inside the handler."""

    async def rule(request: Request) -> str | None:  # async: only reads a header, no trip to the thread pool
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.headers.get("x-api-key")

    return _mark(rule, "camera-key")


def access_rule_of(route: BaseRoute) -> AccessRule | None:
    if not isinstance(route, APIRoute):
        return None
    for dependency in route.dependant.dependencies:
        rule = getattr(dependency.call, ACCESS_ATTR, None)
        if isinstance(rule, AccessRule):
            return rule
    return None


def _api_routes(routes: list[BaseRoute]) -> list[APIRoute]:
    """All APIRoutes, also inside included routers (newer FastAPI includes them lazily)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        nested = getattr(route, "original_router", None) or getattr(route, "routes", None)
        if nested is not None:
            found.extend(_api_routes(list(getattr(nested, "routes", nested))))
    return list({id(r): r for r in found}.values())


def undeclared_routes(routes: list[BaseRoute], exempt: set[str]) -> list[str]:
    missing = []
    for route in _api_routes(routes):
        if route.path not in exempt and access_rule_of(route) is None:
            missing.append(f"{','.join(sorted(route.methods or ()))} {route.path}")
    return missing


def declared_routes(routes: list[BaseRoute]) -> list[tuple[str, str, AccessRule | None]]:
    """(method, path, access rule) of every route, one row per method: for the docs and the access test."""
    rows = []
    for route in _api_routes(routes):
        for method in sorted(route.methods or ()):
            rows.append((method, route.path, access_rule_of(route)))
    return sorted(rows, key=lambda row: (row[1], row[0]))


def csrf_token(secret: bytes, session_token: str) -> str:
    return hmac.new(secret, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, session_token: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(secret, session_token), presented or "")


def require_csrf(request: Request, user: Principal, presented: str | None) -> None:
    """Every form a signed-in user posts carries the session's CSRF token; otherwise 400 and nothing happens."""
    if not csrf_ok(system_of(request).secret_key, user.session_token, presented):
        raise HTTPException(400, "the form's security token is missing or wrong; reload the page and try again")
