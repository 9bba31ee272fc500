"""Alert pages: the officer's live page (Server-Sent Events), one alert with its verification steps
(HOT-5) and disposition (HOT-6), the administrator's notifications, the accuracy report (CAP-5), and
alert channels (MQTT, webhooks)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sse_starlette.sse import EventSourceResponse

from platekeeper.policy import hotlist_rules as rules
from platekeeper.policy.purposes import PurposeStatement
from platekeeper.services import alert_accuracy, alert_delivery, alert_senders, alerts, audit, reads
from platekeeper.services.alert_payload import payload
from platekeeper.store.db import transaction
from platekeeper.store.hotlist_models import AlertChannel, HotListEntry
from platekeeper.store.images import ImageUnavailableError
from platekeeper.system import System
from platekeeper.web.security import Principal, require, require_csrf, system_of
from platekeeper.web.templating import render

router = APIRouter()
DISCONNECT_CHECK_S = 5.0  # how often an idle stream looks whether its page has gone


@router.get("/alerts")
def live_page(request: Request, user: Annotated[Principal, Depends(require("alerts.view"))]) -> Response:
    """The live page: open alerts now, new ones pushed within a second, with sound and a flash."""
    system = system_of(request)
    with system.sessions() as session, session.begin():
        shown = alerts.recent(session, user.actor, limit=50)
        zone = system.profile.zone
        items = [
            payload(session, a)
            | {
                "status": a.status,
                "disposition": a.disposition,
                "local": alert_delivery.local_time(a.captured_at, zone),
            }
            for a in shown
        ]
        notes = alert_delivery.notifications(session, user.user_id) if user.can("hotlists.manage") else []
        note_items = [(n.id, n.event, n.alert.uid, n.alert.read_plate, n.alert.disposition) for n in notes]
    return render(request, "alerts.html", {"user": user, "items": items, "notes": note_items})


async def _events(system: System, request: Request) -> AsyncIterator[bytes | dict[str, str]]:
    hub = alert_delivery.hub(system)
    sub = hub.subscribe(system)
    try:
        yield {"event": "ready", "data": "{}"}
        while not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(sub.queue.get(), timeout=DISCONNECT_CHECK_S)
            except TimeoutError:
                continue
            yield event.encoded  # encoded once by the hub for every page; each alert published once
    finally:
        hub.unsubscribe(sub)


@router.get("/alerts/stream")
def stream(request: Request, user: Annotated[Principal, Depends(require("alerts.view"))]) -> EventSourceResponse:
    """Server-Sent Events: ``alert`` events carrying the alert as JSON. Opening the stream is audited."""
    system = system_of(request)
    audit.record_alone(system.sessions, audit.Event("alert.view", user.actor, target="alerts:live"))
    return EventSourceResponse(_events(system, request), ping=15, headers={"Cache-Control": "no-store"})


@router.get("/alerts/accuracy")
def accuracy_page(request: Request, user: Annotated[Principal, Depends(require("alerts.view"))]) -> Response:
    """CAP-5: confirmed vs misread alerts, per camera and overall, for the annual report."""
    system = system_of(request)
    with system.sessions() as session, session.begin():
        report = alert_accuracy.report(session)
        audit.record(session, audit.Event("alert.accuracy", user.actor, target="alerts:accuracy"))
    return render(request, "alert_accuracy.html", {"user": user, "report": report})


@router.get("/alerts/channels")
def channels_page(request: Request, user: Annotated[Principal, Depends(require("hotlists.manage"))]) -> Response:
    system = system_of(request)
    with system.sessions() as session:
        channels = list(session.scalars(select(AlertChannel).order_by(AlertChannel.id)))
    return render(request, "alert_channels.html", {"user": user, "channels": channels, "error": None})


@router.post("/alerts/channels")
def add_channel(
    request: Request,
    user: Annotated[Principal, Depends(require("hotlists.manage"))],
    kind: Annotated[str, Form(max_length=16)],
    target: Annotated[str, Form(max_length=500)],
    secret: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """An MQTT broker (mqtt://host:port/topic) or a webhook URL every alert is sent to, with retries."""
    require_csrf(request, user, csrf)
    try:
        alert_delivery.add_channel(system_of(request), user.actor, kind, target, secret or None)
    except alert_senders.SendFailed as exc:
        return render(request, "error.html", {"user": user, "title": "Refused", "message": str(exc)}, status_code=422)
    return RedirectResponse("/alerts/channels", status_code=303)


@router.post("/alerts/notifications/{note_id}/read")
def notification_read(
    request: Request,
    note_id: int,
    user: Annotated[Principal, Depends(require("alerts.view"))],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    require_csrf(request, user, csrf)
    with transaction(system_of(request).sessions) as session:
        try:
            alert_delivery.mark_read(session, user.user_id, note_id)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from exc
    return RedirectResponse("/alerts", status_code=303)


@router.get("/alerts/{uid}")
def alert_page(
    request: Request, uid: str, user: Annotated[Principal, Depends(require("alerts.view"))], error: str | None = None
) -> Response:
    """One alert: crop and frame beside the entry's reason, and the steps the officer must take (HOT-5)."""
    system = system_of(request)
    with system.sessions() as session, session.begin():
        try:
            alert = alerts.get_alert(session, uid)
        except LookupError:
            raise HTTPException(404, "no such alert") from None
        body = payload(session, alert)
        audit.record(
            session, audit.Event("alert.view", user.actor, target=f"alert:{uid}", details={"plate": alert.read_plate})
        )
    context = {
        "user": user,
        "alert": alert,
        "body": body,
        "dispositions": rules.DISPOSITIONS,
        "clets_results": rules.CLETS_RESULTS,
        "error": error,
    }
    return render(request, "alert.html", context)


def _entry_purpose(system: System, alert_uid: str) -> PurposeStatement:
    """Looking at a hit's images serves the entry's own purpose and case (USE-1)."""
    with system.sessions() as session:
        alert = alerts.get_alert(session, alert_uid)
        entry = session.get(HotListEntry, alert.entry_id)
        cases = entry.case_numbers if entry else []
        return PurposeStatement(
            purpose=(entry.purpose if entry and entry.purpose else "criminal_investigation"),
            case_number=str(cases[0]) if cases else None,
            no_case_reason=None if cases else f"hot-list alert {alert_uid}",
            presumed_crime=(entry.presumed_crime if entry and entry.presumed_crime else alert.entry_reason)[:500],
        )


@router.get("/alerts/{uid}/images/{kind}.jpg")
def alert_image(
    request: Request, uid: str, kind: str, user: Annotated[Principal, Depends(require("alerts.view"))]
) -> Response:
    """The read's crop or frame, audited as an image view under the hot-list entry's purpose."""
    if kind not in {"frame", "crop"}:
        raise HTTPException(404, "no such image")
    system = system_of(request)
    try:
        purpose = _entry_purpose(system, uid)
        with system.sessions() as session, session.begin():
            read_uid = alerts.get_alert(session, uid).read_uid
            data = reads.read_image(session, system.images, user.viewer, purpose, read_uid, kind)
    except LookupError:
        raise HTTPException(404, "no such alert") from None
    except ImageUnavailableError as exc:
        raise HTTPException(410, f"the image is no longer available: {exc}") from exc
    if data is None:
        raise HTTPException(404, "no such image")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store, private"})


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


@router.post("/alerts/{uid}/verify")
def verify_alert(
    request: Request,
    uid: str,
    user: Annotated[Principal, Depends(require("alerts.verify"))],
    plate_confirmed: Annotated[str, Form(max_length=8)] = "",
    clets_result: Annotated[str, Form(max_length=16)] = "",
    occupants_match: Annotated[str, Form(max_length=8)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """HOT-5 steps: visual confirmation (a "no" is a misread, CAP-5), CLETS result, occupants."""
    require_csrf(request, user, csrf)
    try:
        alerts.verify(
            system_of(request),
            user.actor,
            uid,
            plate_confirmed=_yes_no(plate_confirmed),
            clets_result=clets_result or None,
            occupants_match=_yes_no(occupants_match),
        )
    except alerts.AlertRefused as exc:
        return alert_page(request, uid, user, error=str(exc))
    return RedirectResponse(f"/alerts/{uid}", status_code=303)


@router.post("/alerts/{uid}/dispose")
def dispose_alert(
    request: Request,
    uid: str,
    user: Annotated[Principal, Depends(require("alerts.verify"))],
    disposition: Annotated[str, Form(max_length=32)],
    action_taken: Annotated[str, Form(max_length=2000)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Action taken and final disposition; refused (409, audited) before a verification attempt."""
    require_csrf(request, user, csrf)
    try:
        alerts.dispose(
            system_of(request), user.actor, uid, disposition=disposition, action_taken=action_taken or None, note=note
        )
    except alerts.AlertRefused as exc:
        page = alert_page(request, uid, user, error=str(exc))
        page.status_code = 409
        return page
    return RedirectResponse(f"/alerts/{uid}", status_code=303)
