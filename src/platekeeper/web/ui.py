"""Server-rendered pages. Every route declares its access rule."""

from __future__ import annotations

import base64
import secrets
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from platekeeper.services import audit, reads, users
from platekeeper.store.images import ImageUnavailableError
from platekeeper.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Principal,
    client_ip,
    csrf_ok,
    public,
    require,
    signed_in,
    system_of,
)
from platekeeper.web.templating import render

router = APIRouter(include_in_schema=False)
LOGIN_FAILED = "The username or password is not right, or the account is not active."


def _safe_next(target: str | None) -> str:
    """Only local paths: an open redirect after login would help phishing."""
    if not target or not target.startswith("/") or target.startswith("//") or urlparse(target).netloc:
        return "/reads"
    return target


@router.get("/")
def index(user: Annotated[Principal | None, Depends(public())]) -> Response:
    return RedirectResponse("/reads" if user else "/login", status_code=303)


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


@router.post("/login")
def login(
    request: Request,
    _: Annotated[Principal | None, Depends(public())],
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    login_csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/reads",
) -> Response:
    system = system_of(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, login_csrf):
        return render(
            request,
            "login.html",
            {"login_csrf": expected, "next": _safe_next(next), "error": "The form expired. Please sign in again."},
            status_code=400,
        )
    ip = client_ip(request)
    with system.sessions() as session, session.begin():
        result = users.check_password(session, username, password)
        if result.user is None:
            audit.record(
                session,
                audit.Event(
                    "auth.login_failed",
                    audit.Actor(type="anonymous", name=username[:64], source_ip=ip),
                    outcome="refused",
                    details={"reason": result.reason},
                ),
            )
            failed = True
        else:
            user = result.user
            token = users.open_session(session, user, system.settings.session_hours, ip)
            audit.record(
                session,
                audit.Event(
                    "auth.login",
                    audit.Actor(
                        type="user",
                        id=str(user.id),
                        name=user.username,
                        role=user.role,
                        agency=user.agency.name,
                        unit=user.unit,
                        source_ip=ip,
                    ),
                ),
            )
            failed = False
    if failed:
        return render(
            request,
            "login.html",
            {"login_csrf": expected, "next": _safe_next(next), "error": LOGIN_FAILED},
            status_code=401,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=int(system.settings.session_hours * 3600),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request, user: Annotated[Principal, Depends(signed_in())], csrf: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    system = system_of(request)
    if not csrf_ok(system.secret_key, user.session_token, csrf):
        raise HTTPException(400, "the form's security token is missing or wrong; reload the page")
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


@router.get("/reads")
def reads_page(
    request: Request,
    user: Annotated[Principal, Depends(require("reads.view", "parking_reads.view"))],
    before: int | None = None,
) -> Response:
    """Newest reads first; crops are inlined so the one audited list covers what was shown."""
    system = system_of(request)
    show_images = user.can("images.view")
    with system.sessions() as session, session.begin():
        rows = reads.list_reads(session, user.viewer, limit=50, before_id=before)
        items = [{"read": r, "thumb": _thumbnail(system, session, r) if show_images else None} for r in rows]
    next_before = rows[-1].id if len(rows) == 50 else None
    return render(
        request, "reads.html", {"user": user, "items": items, "next_before": next_before, "show_images": show_images}
    )


@router.get("/reads/{read_id}")
def read_page(
    request: Request, read_id: str, user: Annotated[Principal, Depends(require("reads.view", "parking_reads.view"))]
) -> Response:
    system = system_of(request)
    with system.sessions() as session, session.begin():
        read = reads.get_read(session, user.viewer, read_id)
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
        },
    )


@router.get("/reads/{read_id}/images/{kind}.jpg")
def read_image(
    request: Request, read_id: str, kind: str, user: Annotated[Principal, Depends(require("images.view"))]
) -> Response:
    if kind not in {"frame", "crop"}:
        raise HTTPException(404, "no such image")
    system = system_of(request)
    try:
        with system.sessions() as session, session.begin():
            data = reads.read_image(session, system.images, user.viewer, read_id, kind)
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
