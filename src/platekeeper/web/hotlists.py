"""Hot-list pages (entry, approval, removal, external sync) and the edge units' signed list download."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from platekeeper.policy.purposes import PurposeStatement
from platekeeper.services import audit, hotlist_edge, hotlist_import, hotlists
from platekeeper.services.hotlist_scheduler import Scheduler
from platekeeper.services.hotlists import EntryInput, HotListRefused, Member
from platekeeper.services.purposes import PurposeRefused
from platekeeper.store.db import transaction
from platekeeper.store.models import utcnow
from platekeeper.web.purpose import refusal_status
from platekeeper.web.security import Principal, camera_key, client_ip, public, require, require_csrf, system_of
from platekeeper.web.templating import render


@asynccontextmanager
async def _background(app: FastAPI) -> AsyncIterator[None]:
    """While the server runs: scheduled syncs, review sweeps and delivery retries (HOT-3, HOT-4, HOT-6)."""
    scheduler = Scheduler(app.state.system)
    scheduler.start()
    yield
    scheduler.stop()


router = APIRouter(lifespan=_background)


def member_of(user: Principal) -> Member:
    return Member(user_id=user.user_id, actor=user.actor, permissions=user.permissions)


def _problem(request: Request, user: Principal, message: str, status: int = 422) -> Response:
    return render(request, "error.html", {"user": user, "title": "Refused", "message": message}, status_code=status)


@router.get("/hotlists")
def hotlists_page(request: Request, user: Annotated[Principal, Depends(require("hotlists.view"))]) -> Response:
    """Every list with its last successful sync and last failure (HOT-4), and entries awaiting approval."""
    system = system_of(request)
    with system.sessions() as session, session.begin():
        context: dict[str, Any] = {
            "user": user,
            "lists": hotlists.lists(session),
            "counts": hotlists.counts(session),
            "pending": hotlists.pending_for(session, member_of(user)),
        }
        return render(request, "hotlists.html", context)


@router.get("/hotlists/{key}")
def hotlist_page(
    request: Request,
    key: str,
    user: Annotated[Principal, Depends(require("hotlists.view"))],
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    system = system_of(request)
    with system.sessions() as session, session.begin():
        try:
            hot_list = hotlists.get_list(session, key)
        except LookupError:
            raise HTTPException(404, "no such hot list") from None
        context = {
            "user": user,
            "hot_list": hot_list,
            "entries": hotlists.entries(session, user.actor, hot_list, status=status or None),
            "syncs": hotlist_import.history(session, hot_list),
            "today": utcnow().date(),
        }
        return render(request, "hotlist.html", context)


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _expiry(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    day = dt.date.fromisoformat(value)
    return dt.datetime.combine(day, dt.time(23, 59), tzinfo=dt.UTC)


@router.post("/hotlists/{key}/entries")
def create_entry(
    request: Request,
    key: str,
    user: Annotated[Principal, Depends(require("hotlists.edit"))],
    plate: Annotated[str, Form(max_length=16)],
    synopsis: Annotated[str, Form(max_length=2000)],
    purpose: Annotated[str, Form(max_length=64)] = "",
    case_number: Annotated[str, Form(max_length=64)] = "",
    no_case_reason: Annotated[str, Form(max_length=500)] = "",
    presumed_crime: Annotated[str, Form(max_length=500)] = "",
    more_cases: Annotated[str, Form(max_length=500)] = "",
    alert_type: Annotated[str, Form(max_length=16)] = "vehicle",
    person_description: Annotated[str, Form(max_length=1000)] = "",
    vehicle_description: Annotated[str, Form(max_length=200)] = "",
    major_crime: Annotated[str, Form(max_length=8)] = "",
    owner: Annotated[str, Form(max_length=64)] = "",
    review_on: Annotated[str, Form(max_length=10)] = "",
    expires_on: Annotated[str, Form(max_length=10)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A new department entry (HOT-1, USE-1); pending until a lieutenant approves it (HOT-2)."""
    require_csrf(request, user, csrf)
    statement = PurposeStatement.from_fields(purpose, case_number, no_case_reason, presumed_crime)
    try:
        data = EntryInput(
            plate=plate,
            synopsis=synopsis,
            purpose=statement,
            case_numbers=[c for c in more_cases.replace(";", ",").split(",") if c.strip()],
            alert_type=alert_type,
            person_description=person_description,
            vehicle_description=vehicle_description,
            major_crime=major_crime in {"on", "yes", "true", "1"},
            owner=owner or None,
            review_on=_date(review_on),
            expires_at=_expiry(expires_on),
        )
        hotlists.enter_plate(system_of(request), member_of(user), key, data)
    except ValueError as exc:  # HotListRefused, and bad dates
        return _problem(request, user, str(exc))
    except PurposeRefused as exc:
        return _problem(request, user, exc.refusal.message, refusal_status(exc.refusal))
    return RedirectResponse(f"/hotlists/{key}?status=pending", status_code=303)


@router.post("/hotlists/entries/{entry_id}/approve")
def approve_entry(
    request: Request,
    entry_id: int,
    user: Annotated[Principal, Depends(require("hotlists.approve"))],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    require_csrf(request, user, csrf)
    try:
        hotlists.approve(system_of(request), member_of(user), entry_id)
    except HotListRefused as exc:
        return _problem(request, user, str(exc), 403)
    return RedirectResponse("/hotlists", status_code=303)


@router.post("/hotlists/entries/{entry_id}/reject")
def reject_entry(
    request: Request,
    entry_id: int,
    user: Annotated[Principal, Depends(require("hotlists.approve"))],
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    require_csrf(request, user, csrf)
    try:
        hotlists.reject(system_of(request), member_of(user), entry_id, reason)
    except HotListRefused as exc:
        return _problem(request, user, str(exc), 403)
    return RedirectResponse("/hotlists", status_code=303)


@router.post("/hotlists/entries/{entry_id}/remove")
def remove_entry(
    request: Request,
    entry_id: int,
    user: Annotated[Principal, Depends(require("hotlists.edit", "hotlists.manage"))],
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    require_csrf(request, user, csrf)
    try:
        entry = hotlists.remove(system_of(request), user.actor, entry_id, reason)
    except HotListRefused as exc:
        return _problem(request, user, str(exc))
    with system_of(request).sessions() as session:
        key = hotlists.get_list_by_id(session, entry.list_id).key
    return RedirectResponse(f"/hotlists/{key}", status_code=303)


@router.post("/hotlists/{key}/sync")
def sync_now(
    request: Request,
    key: str,
    user: Annotated[Principal, Depends(require("hotlists.manage"))],
    full: Annotated[str, Form(max_length=8)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """An administrator's sync on demand; the outcome (or the failure) shows on the list page."""
    require_csrf(request, user, csrf)
    try:
        hotlist_import.sync(system_of(request), key, user.actor, full=bool(full))
    except (LookupError, hotlist_import.SyncError) as exc:
        return _problem(request, user, str(exc))
    return RedirectResponse(f"/hotlists/{key}", status_code=303)


@router.post("/api/v1/hotlists", tags=["hot lists"])
def create_external_list(
    request: Request,
    user: Annotated[Principal, Depends(require("hotlists.manage"))],
    body: dict[str, Any],
) -> dict[str, Any]:
    """Create a list; an external one with ``source``, ``source_format`` (csv|fixed), ``mapping`` and
    ``interval_minutes``. The first sync runs at once."""
    system = system_of(request)
    try:
        with transaction(system.sessions) as session:
            hot_list = hotlists.create_list(
                session,
                user.actor,
                key=str(body.get("key", "")),
                name=str(body.get("name", "")),
                kind=str(body.get("kind", "external")),
                category=str(body.get("category", "ncic")),
            )
            if hot_list.kind == "external":
                hotlist_import.configure_external(
                    session,
                    user.actor,
                    hot_list,
                    source=str(body.get("source", "")),
                    source_format=str(body.get("source_format", "csv")),
                    mapping=dict(body.get("mapping") or {}),
                    interval_minutes=int(body["interval_minutes"]) if body.get("interval_minutes") else None,
                )
            key = hot_list.key
    except (ValueError, hotlist_import.SyncError) as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"key": key}


# ---- edge units (HOT-4) -------------------------------------------------------------------------------------


@router.get("/api/v1/hotlists/edge", tags=["hot lists"])
def edge_lists(
    request: Request,
    api_key: Annotated[str | None, Depends(camera_key())],
    since: Annotated[int, Query(ge=0, description="the version the unit holds; 0 for everything")] = 0,
    after_id: Annotated[int, Query(ge=0, description="paging: the last entry id of the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=hotlist_edge.MAX_PAGE)] = hotlist_edge.MAX_PAGE,
) -> Response:
    """Current lists, or the changes since ``since``, with the new version; signed (Ed25519, header
    ``X-Platekeeper-Signature``) with the key at ``/api/v1/hotlists/edge/public-key``. Needs an API key
    with scope ``hotlists.sync``."""
    system = system_of(request)
    with system.sessions() as session, session.begin():
        unit = hotlist_edge.edge_key(session, api_key or "")
    if unit is None:
        actor = audit.Actor(type="anonymous", source_ip=client_ip(request))
        audit.record_alone(
            system.sessions,
            audit.Event(
                "hotlist.edge_sync", actor, outcome="refused", details={"reason": "no valid hotlists.sync key"}
            ),
        )
        raise HTTPException(401, "an API key with scope hotlists.sync is required")
    actor = audit.Actor(type="camera", id=unit.key_prefix, name=unit.label, source_ip=client_ip(request))
    body, signature = hotlist_edge.signed_package(system, unit, actor, since, after_id, limit)
    return Response(body, media_type="application/json", headers={hotlist_edge.SIGNATURE_HEADER: signature})


@router.get("/api/v1/hotlists/edge/public-key", tags=["hot lists"])
def edge_public_key(request: Request, _: Annotated[Principal | None, Depends(public())]) -> dict[str, str]:
    """The Ed25519 public key that signs edge packages (raw 32 bytes, base64). Reveals no data."""
    return {"algorithm": "ed25519", "public_key": hotlist_edge.public_key(system_of(request))}
