"""Server-rendered pages. Every route declares its access rule."""

from __future__ import annotations

import base64
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode, urlparse

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from platekeeper.policy.purposes import PurposeStatement
from platekeeper.services import audit, auth, reads, second_factor, users
from platekeeper.services.purposes import PurposeRefused, require_purpose
from platekeeper.store.images import ImageUnavailableError
from platekeeper.web.purpose import purpose_query, refusal_status, stated_purpose
from platekeeper.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Principal,
    client_ip,
    public,
    require,
    require_csrf,
    signed_in,
    system_of,
)
from platekeeper.web.templating import render

router = APIRouter(include_in_schema=False)
LOGIN_FAILED = "The username or password is not right, or the account is locked."
PENDING_COOKIE = "pk_pending"  # a right password awaiting its second factor


def _safe_next(target: str | None) -> str:
    """Only local paths: an open redirect after login would help phishing."""
    if not target or not target.startswith("/") or target.startswith("//") or urlparse(target).netloc:
        return "/"
    return target


@router.get("/")
def index(user: Annotated[Principal | None, Depends(public())]) -> Response:
    """Signed in: the first page the role may open (never one it would be refused); otherwise sign in."""
    return RedirectResponse(home_for(user) if user else "/login", status_code=303)


# Where each kind of user starts, in order of preference: (any of these permissions, page).
HOME_PAGES = (
    (("reads.view", "parking_reads.view"), "/reads"),
    (("alerts.view",), "/alerts"),
    (("audit.view", "audit.review"), "/audit"),
    (("users.manage", "users.approve"), "/admin/users"),
    (("logins.view",), "/admin/logins"),
    (("reads.locations",), "/locations"),
    (("hotlists.view",), "/hotlists"),
)


def home_for(user: Principal) -> str:
    for permissions, page in HOME_PAGES:
        if any(user.can(p) for p in permissions):
            return page
    return "/welcome"


@router.get("/welcome")
def welcome(request: Request, user: Annotated[Principal, Depends(signed_in())]) -> Response:
    """For a role that holds no permission yet: say so, rather than send the user to a refusal."""
    return render(
        request,
        "error.html",
        {
            "user": user,
            "title": "Signed in",
            "message": "Your role has no pages yet. Ask an administrator which access your duties need.",
        },
    )


@router.get("/login")
def login_page(
    request: Request, _: Annotated[Principal | None, Depends(public())], next: str | None = None
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {"login_csrf": token, "next": _safe_next(next), "error": None})
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request))
    return response


def _secure(request: Request) -> bool:
    return bool(system_of(request).settings.production)


def _login_form(request: Request, token: str, next_path: str, error: str | None, status_code: int) -> Response:
    context = {"login_csrf": token, "next": _safe_next(next_path), "error": error}
    return render(request, "login.html", context, status_code=status_code)


def _signed_in(request: Request, token: str, next_path: str) -> Response:
    system = system_of(request)
    response = RedirectResponse(_safe_next(next_path), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=int(system.settings.session_hours * 3600),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    response.delete_cookie(PENDING_COOKIE)
    return response


def _login_csrf_ok(request: Request, presented: str) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(expected) and secrets.compare_digest(expected, presented)


@router.post("/login")
def login(
    request: Request,
    _: Annotated[Principal | None, Depends(public())],
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    login_csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    system = system_of(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not _login_csrf_ok(request, login_csrf):
        return _login_form(request, expected, next, "The form expired. Please sign in again.", 400)
    with system.sessions() as session, session.begin():
        result = auth.sign_in(
            session,
            system.profile,
            username,
            password,
            source_ip=client_ip(request),
            session_hours=system.settings.session_hours,
        )
    if result.outcome == "failed":
        return _login_form(request, expected, next, LOGIN_FAILED, 401)
    if result.outcome == "blocked":
        return _login_form(request, expected, next, f"You cannot sign in yet: {result.message}.", 403)
    assert result.token is not None
    if result.outcome == "signed_in":
        return _signed_in(request, result.token, next)
    response = RedirectResponse(f"/login/second-factor?{urlencode({'next': _safe_next(next)})}", status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        result.token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        max_age=users.SECOND_FACTOR_MINUTES * 60,
    )
    return response


def _second_factor_form(
    request: Request, pending: str, next_path: str, error: str | None, status_code: int = 200
) -> Response:
    system = system_of(request)
    with system.sessions() as session, session.begin():
        user = auth.pending_user(session, pending)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        secret = auth.enrolment_secret(session, system.field_key, user)
        username = user.username
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    context: dict[str, Any] = {
        "login_csrf": token,
        "next": _safe_next(next_path),
        "error": error,
        "enrol": bool(secret),
    }
    if secret:
        uri = second_factor.provisioning_uri(secret, username, f"platekeeper ({system.profile.agency.name})")
        context |= {"secret": secret, "qr": second_factor.qr_data_uri(uri)}
    response = render(request, "second_factor.html", context, status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request))
    return response


@router.get("/login/second-factor")
def second_factor_page(
    request: Request, _: Annotated[Principal | None, Depends(public())], next: str | None = None
) -> Response:
    pending = request.cookies.get(PENDING_COOKIE)
    if not pending:
        return RedirectResponse("/login", status_code=303)
    return _second_factor_form(request, pending, next or "/", None)


@router.post("/login/second-factor")
def second_factor_submit(
    request: Request,
    _: Annotated[Principal | None, Depends(public())],
    code: Annotated[str, Form(max_length=20)],
    login_csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    system = system_of(request)
    pending = request.cookies.get(PENDING_COOKIE)
    if not pending:
        return RedirectResponse("/login", status_code=303)
    if not _login_csrf_ok(request, login_csrf):
        return _second_factor_form(request, pending, next, "The form expired. Please try again.", 400)
    with system.sessions() as session, session.begin():
        result = auth.complete_second_factor(
            session,
            system.profile,
            system.field_key,
            pending,
            code,
            source_ip=client_ip(request),
            session_hours=system.settings.session_hours,
        )
    if result.outcome == "signed_in" and result.token:
        return _signed_in(request, result.token, next)
    if result.message:  # the pending sign-in is gone: start again
        return _login_form(request, request.cookies.get(LOGIN_CSRF_COOKIE, ""), next, result.message, 401)
    return _second_factor_form(request, pending, next, "That code is not right, or was already used.", 401)


@router.post("/logout")
def logout(
    request: Request, user: Annotated[Principal, Depends(signed_in())], csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    require_csrf(request, user, csrf)
    system = system_of(request)
    with system.sessions() as session, session.begin():
        users.close_session(session, user.session_token)
        audit.record(session, audit.Event("auth.logout", user.actor))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _thumbnail(system: Any, session: Any, read: Any) -> str | None:
    crop = next((i for i in read.images if i.kind == "crop"), None)
    if crop is None:
        return None
    try:
        data = system.images.get(crop.capture_day, crop.blob_name, session)
    except ImageUnavailableError:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def _blank(statement: PurposeStatement) -> bool:
    return not (statement.purpose or statement.case_number or statement.no_case_reason or statement.presumed_crime)


def _ask_purpose(
    request: Request,
    user: Principal,
    statement: PurposeStatement,
    action: str,
    error: str | None,
    status_code: int = 200,
) -> Response:
    context = {"user": user, "purpose": statement, "action": action, "error": error, "heading": "State the purpose"}
    return render(request, "purpose.html", context, status_code=status_code)


def _purpose_refusal(
    request: Request, user: Principal, statement: PurposeStatement, action: str, criteria: dict[str, Any]
) -> Response | None:
    """None when the purpose stands; otherwise the purpose form again, with why (the refusal is audited)."""
    system = system_of(request)
    try:
        require_purpose(system.sessions, system.profile, user.actor, statement, action=action, criteria=criteria)
    except PurposeRefused as refused:
        status = refusal_status(refused.refusal)
        return _ask_purpose(request, user, statement, request.url.path, refused.refusal.message, status)
    return None


@router.get("/reads")
def reads_page(
    request: Request,
    user: Annotated[Principal, Depends(require("reads.view", "parking_reads.view"))],
    purpose: Annotated[PurposeStatement, Depends(stated_purpose)],
    before: int | None = None,
) -> Response:
    """Newest reads first, after the purpose is stated; crops are inlined so one audited list covers what was shown."""
    if _blank(purpose):
        return _ask_purpose(request, user, purpose, "/reads", None)
    refusal = _purpose_refusal(request, user, purpose, "reads.list", {"before_id": before})
    if refusal:
        return refusal
    system = system_of(request)
    show_images = user.can("images.view")
    with system.sessions() as session, session.begin():
        rows = reads.list_reads(session, user.viewer, purpose, limit=50, before_id=before)
        items = [{"read": r, "thumb": _thumbnail(system, session, r) if show_images else None} for r in rows]
    next_before = rows[-1].id if len(rows) == 50 else None
    context = {
        "user": user,
        "items": items,
        "next_before": next_before,
        "show_images": show_images,
        "pq": purpose_query(purpose),
    }
    return render(request, "reads.html", context)


@router.get("/reads/{read_id}")
def read_page(
    request: Request,
    read_id: str,
    user: Annotated[Principal, Depends(require("reads.view", "parking_reads.view"))],
    purpose: Annotated[PurposeStatement, Depends(stated_purpose)],
) -> Response:
    if _blank(purpose):
        return _ask_purpose(request, user, purpose, request.url.path, None)
    refusal = _purpose_refusal(request, user, purpose, "read.view", {"read": read_id})
    if refusal:
        return refusal
    system = system_of(request)
    with system.sessions() as session, session.begin():
        read = reads.get_read(session, user.viewer, purpose, read_id)
    if read is None:
        return render(
            request,
            "error.html",
            {"user": user, "title": "Not found", "message": "There is no such read."},
            status_code=404,
        )
    return render(
        request,
        "read.html",
        {
            "user": user,
            "read": read,
            "show_images": user.can("images.view"),
            "kinds": sorted(i.kind for i in read.images),
            "pq": purpose_query(purpose),
        },
    )


@router.get("/reads/{read_id}/images/{kind}.jpg")
def read_image(
    request: Request,
    read_id: str,
    kind: str,
    user: Annotated[Principal, Depends(require("images.view"))],
    purpose: Annotated[PurposeStatement, Depends(stated_purpose)],
) -> Response:
    if kind not in {"frame", "crop"}:
        raise HTTPException(404, "no such image")
    system = system_of(request)
    require_purpose(
        system.sessions, system.profile, user.actor, purpose, action="image.view", criteria={"read": read_id}
    )
    try:
        with system.sessions() as session, session.begin():
            data = reads.read_image(session, system.images, user.viewer, purpose, read_id, kind)
    except ImageUnavailableError as exc:
        raise HTTPException(410, f"the image is no longer available: {exc}") from exc
    if data is None:
        raise HTTPException(404, "no such image")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store, private"})


@router.get("/docs")
def api_docs(_: Annotated[Principal | None, Depends(public())]) -> Response:
    """Interactive API reference, served from the package (no CDN)."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="platekeeper API",
        swagger_js_url="/static-docs/swagger-ui-bundle.js",
        swagger_css_url="/static-docs/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
    )


def swagger_static() -> StaticFiles:
    import swagger_ui_bundle  # type: ignore[import-untyped]

    return StaticFiles(directory=swagger_ui_bundle.swagger_ui_path)
