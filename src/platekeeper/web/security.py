"""Who may call what. Every route depends on exactly one access rule from here.

``create_app`` refuses to start when a route lacks one: deny by default.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from platekeeper.services import audit, users
from platekeeper.services.reads import Viewer
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


def _principal(request: Request) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    system = system_of(request)
    with system.sessions() as session:
        user = users.resolve_session(session, token)
        if user is None:
            return None
        role = system.profile.role(user.role)
        return Principal(
            user_id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            role_label=role.label if role else user.role,
            permissions=frozenset(role.permissions) if role else frozenset(),
            agency=user.agency.name,
            unit=user.unit,
            source_ip=client_ip(request),
            session_token=token,
        )


def _mark(rule: Callable[..., Any], description: str) -> Callable[..., Any]:
    setattr(rule, ACCESS_ATTR, description)
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

    return _mark(rule, "permission: " + " | ".join(any_of))


def camera_key() -> Callable[..., Any]:
    """Cameras and edge units, by their API key; checked inside the handler."""

    def rule(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return header[7:].strip()
        return request.headers.get("x-api-key")

    return _mark(rule, "camera API key")


def access_rule_of(route: BaseRoute) -> str | None:
    if not isinstance(route, APIRoute):
        return None
    for dependency in route.dependant.dependencies:
        description = getattr(dependency.call, ACCESS_ATTR, None)
        if description:
            return str(description)
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


def declared_routes(routes: list[BaseRoute]) -> list[tuple[str, str, str]]:
    """(methods, path, access rule) of every route: for the docs and the access test."""
    return [(",".join(sorted(r.methods or ())), r.path, access_rule_of(r) or "UNDECLARED") for r in _api_routes(routes)]


def csrf_token(secret: bytes, session_token: str) -> str:
    return hmac.new(secret, b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, session_token: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(secret, session_token), presented or "")
