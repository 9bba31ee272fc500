"""Administration pages (ACC-1..5): users, training, approval, sign-in log, access review, roles, API keys.

Made for a supervisor, not a technician: plain words, one action per button, and
every change goes through the services that check the rules and audit it, in one
transaction per action. Every POST carries the CSRF token. Messages after a change
come from a fixed list (``?done=<key>``); nothing from the query string is echoed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from platekeeper.policy.permissions import PERMISSIONS
from platekeeper.services import access, admin_queries, api_keys, audit, cameras, users
from platekeeper.services.access import AccessError
from platekeeper.services.api_keys import ApiKeyError
from platekeeper.services.cameras import CameraError
from platekeeper.services.users import UserError
from platekeeper.store.db import transaction
from platekeeper.store.models import User, utcnow
from platekeeper.system import System
from platekeeper.web.security import Principal, require, require_csrf, system_of
from platekeeper.web.templating import render

router = APIRouter()
pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/admin", tags=["administration"])

Administrator = Annotated[Principal, Depends(require("users.manage", "users.approve"))]
Manager = Annotated[Principal, Depends(require("users.manage"))]
Supervisor = Annotated[Principal, Depends(require("users.approve"))]
LoginViewer = Annotated[Principal, Depends(require("logins.view"))]
Reviewer = Annotated[Principal, Depends(require("users.manage", "audit.view"))]
KeyManager = Annotated[Principal, Depends(require("cameras.manage"))]
Csrf = Annotated[str, Form(max_length=200)]

PAGE_SIZE = 50
MAX_KEY_DAYS = 3650
DONE_MESSAGES = {
    "created": "The account was created. Record the user's training next; a supervisor then approves it.",
    "training": "The training record was saved.",
    "approved": "The account was approved. The user can now sign in.",
    "disabled": "The account was disabled. Its sessions end at once.",
    "enabled": "The account was enabled again.",
    "unlocked": "The lock was lifted; the user can try to sign in again.",
    "second_factor_reset": "The second factor was reset. The user sets up a new authenticator at the next sign-in.",
    "updated": "The changes were saved.",
    "unchanged": "Nothing was changed.",
    "roles_saved": "The role permissions were saved. They apply from the users' next page load.",
    "key_revoked": "The key was revoked. Devices using it are refused from now on.",
}


# ---- helpers -------------------------------------------------------------------------------------------------------
def _done(path: str, key: str) -> Response:
    return RedirectResponse(f"{path}?{urlencode({'done': key})}", status_code=303)


def _message(done: str | None) -> str | None:
    return DONE_MESSAGES.get(done or "")


def _user_path(username: str) -> str:
    return "/admin/users/" + quote(username, safe="")


def _target(session: Session, username: str) -> User:
    try:
        return access.get_user(session, username)
    except AccessError as exc:
        raise HTTPException(404, "there is no such user") from exc


class _Refused(AccessError):
    """A change this UI refuses on its own (acting on your own account); audited after the rollback."""


def _refuse(system: System, user: Principal, target: str, reason: str) -> None:
    """Record a refused administrative request in a transaction of its own."""
    audit.record_alone(
        system.sessions,
        audit.Event("access.refused", user.actor, outcome="refused", target=target, details={"reason": reason}),
    )


def _roles(system: System) -> list[dict[str, Any]]:
    return [{"key": r.key, "label": r.label} for r in system.profile.roles]


# ---- users ---------------------------------------------------------------------------------------------------------
def _users_page(
    request: Request,
    user: Principal,
    *,
    show: str | None = None,
    message: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    system = system_of(request)
    with system.sessions() as session:
        rows = admin_queries.user_rows(session, system.profile)
    context = {
        "user": user,
        "rows": admin_queries.filter_rows(rows, show),
        "total": len(rows),
        "counts": admin_queries.filter_counts(rows),
        "filters": {k: label for k, (label, _) in admin_queries.USER_FILTERS.items()},
        "show": show if show in admin_queries.USER_FILTERS else "",
        "roles": _roles(system),
        "message": message,
        "error": error,
        "form": form or {},
        "min_password": users.MIN_PASSWORD_LENGTH,
    }
    return render(request, "admin_users.html", context, status_code=status_code)


@pages.get("/admin")
def admin_home(_: Administrator) -> Response:
    return RedirectResponse("/admin/users", status_code=303)


@pages.get("/admin/users")
def users_page(request: Request, user: Administrator, show: str | None = None, done: str | None = None) -> Response:
    """Every account with role, unit, badge, status, training and last use; filters for what needs attention."""
    return _users_page(request, user, show=show, message=_message(done))


@pages.post("/admin/users")
def create_user(
    request: Request,
    user: Manager,
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=64)] = "",
    unit: Annotated[str, Form(max_length=200)] = "",
    badge_number: Annotated[str, Form(max_length=32)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    password_again: Annotated[str, Form(max_length=1024)] = "",
    csrf: Csrf = "",
) -> Response:
    """Create an account; it cannot sign in until trained and approved (ACC-1)."""
    system = system_of(request)
    require_csrf(request, user, csrf)
    form = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "unit": unit,
        "badge_number": badge_number,
    }
    try:
        if password != password_again:
            raise UserError("the two passwords are not the same")
        if not display_name.strip():
            raise UserError("give the user's full name")
        with transaction(system.sessions) as session:
            created = users.create_user(
                session,
                system.profile,
                user.actor,
                username=username,
                password=password,
                role=role,
                display_name=display_name,
                unit=unit.strip() or None,
                badge_number=badge_number.strip() or None,
            )
            name = created.username
    except UserError as exc:
        return _users_page(request, user, error=str(exc), form=form, status_code=422)
    return _done(_user_path(name), "created")


def _user_page(
    request: Request,
    user: Principal,
    username: str,
    *,
    message: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    system = system_of(request)
    profile = system.profile
    with system.sessions() as session:
        target = _target(session, username)
        context = {
            "user": user,
            "target": target,
            "role_label": admin_queries.role_label(profile, target.role),
            "status": (status := access.status_of(profile, target)),
            "status_key": admin_queries.status_key(status),
            "training": access.training_of(profile, target),
            "trainings": sorted(target.trainings, key=lambda t: t.completed_on, reverse=True),
            "topics": [(t, admin_queries.topic_label(t)) for t in profile.training.topics],
            "topic_label": admin_queries.topic_label,
            "roles": _roles(system),
            "is_self": target.id == user.user_id,
            "locked": target.locked_until is not None and target.locked_until > utcnow(),
            "today": dt.datetime.now(profile.zone).date().isoformat(),
            "message": message,
            "error": error,
        }
        return render(request, "admin_user.html", context, status_code=status_code)


@pages.get("/admin/users/{username}")
def user_page(request: Request, username: str, user: Administrator, done: str | None = None) -> Response:
    """One account: details, training records, and what a supervisor or administrator can do with it."""
    return _user_page(request, user, username, message=_message(done))


Change = Callable[[Session, User], None]


def _apply(request: Request, user: Principal, username: str, csrf: str, change: Change, done: str) -> Response:
    """Run one change in one transaction; a refused change is rolled back and shown on the user's page."""
    system = system_of(request)
    require_csrf(request, user, csrf)
    try:
        with transaction(system.sessions) as session:
            change(session, _target(session, username))
    except (AccessError, UserError) as exc:
        if isinstance(exc, _Refused):
            _refuse(system, user, f"user:{username}", str(exc))
        return _user_page(request, user, username, error=str(exc), status_code=422)
    return _done(_user_path(username), done)


@pages.post("/admin/users/{username}/training")
def add_training(
    request: Request,
    username: str,
    user: Manager,
    completed_on: Annotated[str, Form(max_length=20)] = "",
    trainer: Annotated[str, Form(max_length=200)] = "",
    topics: Annotated[list[str] | None, Form()] = None,
    note: Annotated[str, Form(max_length=2000)] = "",
    csrf: Csrf = "",
) -> Response:
    """Record a completed training (ACC-1): date, trainer, topics covered."""
    system = system_of(request)

    def change(session: Session, target: User) -> None:
        try:
            day = dt.date.fromisoformat(completed_on.strip())
        except ValueError as exc:
            raise AccessError("give the date the training was completed (YYYY-MM-DD)") from exc
        access.record_training(
            session,
            system.profile,
            user.actor,
            target,
            topics=topics or [],
            completed_on=day,
            trainer=trainer,
            note=note,
        )

    return _apply(request, user, username, csrf, change, "training")


@pages.post("/admin/users/{username}/approve")
def approve_user(
    request: Request,
    username: str,
    user: Supervisor,
    back: Annotated[str, Form(max_length=20)] = "user",
    csrf: Csrf = "",
) -> Response:
    """A supervisor other than the user activates a trained account; refusals are audited by the service."""
    system = system_of(request)
    require_csrf(request, user, csrf)
    error = None
    with transaction(system.sessions) as session:
        target = _target(session, username)
        approver = session.get(User, user.user_id)
        if approver is None:  # never fall through to the operator's bootstrap path (approver=None)
            raise HTTPException(403, "your account could not be found")
        try:
            access.approve(
                session, system.profile, user.actor, target, approver=approver, approver_permissions=user.permissions
            )
        except AccessError as exc:
            error = str(exc)  # the refusal's audit record commits with this transaction; nothing else changed
    if back == "approvals":
        if error:
            return _approvals_page(request, user, error=f"{username}: {error}", status_code=403)
        return _done("/admin/approvals", "approved")
    if error:
        return _user_page(request, user, username, error=error, status_code=403)
    return _done(_user_path(username), "approved")


@pages.post("/admin/users/{username}/disable")
def disable_user(
    request: Request,
    username: str,
    user: Manager,
    reason: Annotated[str, Form(max_length=200)] = "",
    csrf: Csrf = "",
) -> Response:
    """Disable an account at once (it keeps its history); a reason is required."""

    def change(session: Session, target: User) -> None:
        if target.id == user.user_id:
            raise _Refused("you cannot disable your own account")
        if not reason.strip():
            raise AccessError("say why the account is disabled (for example: left the unit, on leave)")
        access.disable(session, user.actor, target, reason.strip(), system_of(request).profile)

    return _apply(request, user, username, csrf, change, "disabled")


@pages.post("/admin/users/{username}/enable")
def enable_user(request: Request, username: str, user: Manager, csrf: Csrf = "") -> Response:
    return _apply(request, user, username, csrf, lambda s, t: access.enable(s, user.actor, t), "enabled")


@pages.post("/admin/users/{username}/unlock")
def unlock_user(request: Request, username: str, user: Manager, csrf: Csrf = "") -> Response:
    """Lift a lockout after repeated failed sign-ins."""
    return _apply(request, user, username, csrf, lambda s, t: access.unlock(s, user.actor, t), "unlocked")


@pages.post("/admin/users/{username}/reset-second-factor")
def reset_second_factor(request: Request, username: str, user: Manager, csrf: Csrf = "") -> Response:
    """A lost phone: the user sets up a new authenticator at the next sign-in."""
    return _apply(
        request, user, username, csrf, lambda s, t: access.reset_second_factor(s, user.actor, t), "second_factor_reset"
    )


@pages.post("/admin/users/{username}/update")
def update_user(
    request: Request,
    username: str,
    user: Manager,
    role: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    unit: Annotated[str, Form(max_length=200)] = "",
    badge_number: Annotated[str, Form(max_length=32)] = "",
    csrf: Csrf = "",
) -> Response:
    """Change role, name, unit or badge number; every change is audited with before and after."""
    system = system_of(request)

    def change(session: Session, target: User) -> None:
        if target.id == user.user_id and role and role != target.role:
            raise _Refused("you cannot change your own role; ask another administrator")
        access.update_user(
            session,
            system.profile,
            user.actor,
            target,
            role=role or None,
            unit=unit,
            badge_number=badge_number,
            display_name=display_name if display_name.strip() else None,
        )

    return _apply(request, user, username, csrf, change, "updated")


# ---- approvals -----------------------------------------------------------------------------------------------------
def _approvals_page(
    request: Request, user: Principal, *, message: str | None = None, error: str | None = None, status_code: int = 200
) -> Response:
    system = system_of(request)
    with system.sessions() as session:
        rows = admin_queries.awaiting_approval(session, system.profile)
    context = {"user": user, "rows": rows, "message": message, "error": error}
    return render(request, "admin_approvals.html", context, status_code=status_code)


@pages.get("/admin/approvals")
def approvals_page(request: Request, user: Supervisor, done: str | None = None) -> Response:
    """Trained accounts waiting for a supervisor's approval."""
    return _approvals_page(request, user, message=_message(done))


# ---- sign-in log ---------------------------------------------------------------------------------------------------
@pages.get("/admin/logins")
def logins_page(
    request: Request,
    user: LoginViewer,
    username: str | None = None,
    failures: bool = False,
    before: int | None = None,
) -> Response:
    """Successful and failed sign-ins with source address (ACC-3); viewing is audited."""
    system = system_of(request)
    name = (username or "").strip().lower()[:64]
    with transaction(system.sessions) as session:
        page = admin_queries.sign_in_log(
            session, user.actor, username=name or None, failures_only=failures, before=before, limit=PAGE_SIZE
        )
    query: dict[str, str] = {}
    if name:
        query["username"] = name
    if failures:
        query["failures"] = "true"
    context = {
        "user": user,
        "entries": page.entries,
        "username": name,
        "failures": failures,
        "next_url": f"/admin/logins?{urlencode({**query, 'before': page.next_before})}" if page.next_before else None,
        "first_url": f"/admin/logins?{urlencode(query)}" if before is not None else None,
    }
    return render(request, "admin_logins.html", context)


# ---- access review -------------------------------------------------------------------------------------------------
@pages.get("/admin/access-review")
def access_review_page(request: Request, user: Reviewer) -> Response:
    """Who holds which role, and when each last used the system; viewing is audited."""
    system = system_of(request)
    with transaction(system.sessions) as session:
        rows = admin_queries.access_review(session, system.profile, user.actor, "html")
    labels = {r.key: r.label for r in system.profile.roles}
    context = {"user": user, "rows": rows, "labels": labels, "idle_limit": system.profile.accounts.idle_disable_days}
    return render(request, "admin_access_review.html", context)


@pages.get("/admin/access-review.csv")
def access_review_csv(request: Request, user: Reviewer) -> Response:
    system = system_of(request)
    with transaction(system.sessions) as session:
        rows = admin_queries.access_review(session, system.profile, user.actor, "csv")
    day = dt.datetime.now(system.profile.zone).date().isoformat()
    return Response(
        admin_queries.access_review_csv(rows, system.profile.zone),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="access-review-{day}.csv"', "Cache-Control": "no-store"},
    )


# ---- roles × permissions (ACC-4, ACC-5) ----------------------------------------------------------------------------
def _roles_page(
    request: Request, user: Principal, *, message: str | None = None, error: str | None = None, status_code: int = 200
) -> Response:
    system = system_of(request)
    profile = system.profile
    with system.sessions() as session:
        matrix = access.permission_matrix(session, profile)
    cells = {
        (r.key, p.key): {
            "held": p.key in matrix[r.key],
            "changed": (p.key in matrix[r.key]) != (p.key in r.permissions),
            "locked": p.police_data and not r.law_enforcement,
        }
        for r in profile.roles
        for p in PERMISSIONS.values()
    }
    context = {
        "user": user,
        "roles": profile.roles,
        "permissions": list(PERMISSIONS.values()),
        "cells": cells,
        "message": message,
        "error": error,
    }
    return render(request, "admin_roles.html", context, status_code=status_code)


@pages.get("/admin/roles")
def roles_page(request: Request, user: Manager, done: str | None = None) -> Response:
    """Which class of user may do and see what (ACC-5); police data only ever for law-enforcement roles."""
    return _roles_page(request, user, message=_message(done))


def _grant_changes(matrix: dict[str, frozenset[str]], wanted: set[tuple[str, str]]) -> list[tuple[str, str, bool]]:
    """(role, permission, granted) for every cell that differs; grants first, so a move never leaves a gap."""
    changes = [
        (role, permission, (role, permission) in wanted)
        for role, held in matrix.items()
        for permission in PERMISSIONS
        if ((role, permission) in wanted) != (permission in held)
    ]
    return sorted(changes, key=lambda c: not c[2])


@pages.post("/admin/roles")
def save_roles(
    request: Request, user: Manager, grant: Annotated[list[str] | None, Form()] = None, csrf: Csrf = ""
) -> Response:
    """Save the matrix: one audited ``role.grant`` per changed cell, all or nothing."""
    system = system_of(request)
    require_csrf(request, user, csrf)
    wanted = {(r, p) for r, _, p in (g.partition(":") for g in grant or [])}
    pending: tuple[str, str, bool] | None = None
    try:
        with transaction(system.sessions) as session:
            changes = _grant_changes(access.permission_matrix(session, system.profile), wanted)
            for pending in changes:
                access.set_grant(session, system.profile, user.actor, *pending)
    except AccessError as exc:
        if pending is not None:
            role, permission, granted = pending
            audit.record_alone(
                system.sessions,
                audit.Event(
                    "role.grant",
                    user.actor,
                    outcome="refused",
                    target=f"role:{role}",
                    details={"permission": permission, "granted": granted, "reason": str(exc)},
                ),
            )
        return _roles_page(request, user, error=f"Nothing was saved: {exc}", status_code=403)
    return _done("/admin/roles", "roles_saved" if changes else "unchanged")


# ---- API keys for cameras and edge units ---------------------------------------------------------------------------
def _keys_page(
    request: Request,
    user: Principal,
    *,
    message: str | None = None,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    system = system_of(request)
    with system.sessions() as session:
        keys = api_keys.list_keys(session)
        context = {
            "user": user,
            "keys": keys,
            "now": utcnow(),
            "cameras": admin_queries.cameras(session),
            "scopes": api_keys.SCOPES,
            "message": message,
            "error": error,
            "form": form or {"scopes": ["reads.ingest"]},
        }
        return render(request, "admin_api_keys.html", context, status_code=status_code)


@pages.get("/admin/api-keys")
def api_keys_page(request: Request, user: KeyManager, done: str | None = None) -> Response:
    """Keys held by cameras and edge units: scope, state, last use; issue and revoke."""
    return _keys_page(request, user, message=_message(done))


def _expiry(days: str) -> dt.datetime | None:
    if not days.strip():
        return None
    try:
        count = int(days)
    except ValueError as exc:
        raise ApiKeyError("the expiry is a number of days (or leave it empty for no expiry)") from exc
    if not 1 <= count <= MAX_KEY_DAYS:
        raise ApiKeyError(f"the expiry must be between 1 and {MAX_KEY_DAYS} days")
    return utcnow() + dt.timedelta(days=count)


@pages.post("/admin/api-keys")
def issue_api_key(
    request: Request,
    user: KeyManager,
    label: Annotated[str, Form(max_length=200)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    camera: Annotated[str, Form(max_length=64)] = "",
    expires_days: Annotated[str, Form(max_length=10)] = "",
    csrf: Csrf = "",
) -> Response:
    """Issue a key; the key is shown on this one page and never again (only its hash is kept)."""
    system = system_of(request)
    require_csrf(request, user, csrf)
    form = {"label": label, "scopes": scopes or [], "camera": camera, "expires_days": expires_days}
    try:
        with transaction(system.sessions) as session:
            device = cameras.get_camera(session, camera) if camera else None
            key, text = api_keys.issue(
                session, user.actor, label=label, scopes=scopes or [], camera=device, expires_at=_expiry(expires_days)
            )
            context = {"user": user, "key": key, "text": text, "camera": device.name if device else None}
    except (ApiKeyError, CameraError) as exc:
        return _keys_page(request, user, error=str(exc), form=form, status_code=422)
    return render(request, "admin_api_key_issued.html", context)


@pages.post("/admin/api-keys/{prefix}/revoke")
def revoke_api_key(
    request: Request,
    prefix: str,
    user: KeyManager,
    reason: Annotated[str, Form(max_length=200)] = "",
    csrf: Csrf = "",
) -> Response:
    system = system_of(request)
    require_csrf(request, user, csrf)
    try:
        with transaction(system.sessions) as session:
            api_keys.revoke(session, user.actor, prefix, reason=reason.strip() or "revoked by an administrator")
    except ApiKeyError as exc:
        raise HTTPException(404, "there is no such key") from exc
    return _done("/admin/api-keys", "key_revoked")


# ---- JSON: the same reports for scripts and the records office (read-only; changes go through the pages) ------------
class SignInOut(BaseModel):
    occurred_at: dt.datetime
    username: str
    outcome: str
    failure: bool
    reason: str
    source_ip: str | None


class SignInPageOut(BaseModel):
    entries: list[SignInOut]
    next_before: int | None


@api.get("/logins", response_model=SignInPageOut)
def logins_json(
    request: Request, user: LoginViewer, username: str | None = None, failures: bool = False, before: int | None = None
) -> Any:
    """The sign-in log (ACC-3), newest first, 50 a page; viewing is audited."""
    system = system_of(request)
    name = (username or "").strip().lower()[:64]
    with transaction(system.sessions) as session:
        page = admin_queries.sign_in_log(
            session, user.actor, username=name or None, failures_only=failures, before=before, limit=PAGE_SIZE
        )
    entries = [SignInOut(**{f: getattr(e, f) for f in SignInOut.model_fields}) for e in page.entries]
    return SignInPageOut(entries=entries, next_before=page.next_before)


@api.get("/access-review", response_model=list[access.ReviewRow])
def access_review_json(request: Request, user: Reviewer) -> Any:
    """Who holds which role and when they last used it; viewing is audited."""
    system = system_of(request)
    with transaction(system.sessions) as session:
        rows = admin_queries.access_review(session, system.profile, user.actor, "json")
    return rows


router.include_router(pages)
router.include_router(api)
