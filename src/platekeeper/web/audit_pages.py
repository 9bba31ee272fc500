"""Audit pages and API (AUD-1..3): the audit log, chain verification, random audit samples.

``/audit`` and ``/audit/verify`` need ``audit.view``; samples, findings, sign-off and reports need
``audit.review``. Every look at the log or a sample is itself audited (in the service layer).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from platekeeper.policy.audit_flags import ASSESSMENTS, FLAGS
from platekeeper.services import audit, audit_reports, audit_review
from platekeeper.services.audit_review import AuditReviewError, LogFilter, SampleView
from platekeeper.store.db import transaction
from platekeeper.store.models import AuditEvent, AuditSample
from platekeeper.system import System
from platekeeper.web.security import Principal, require, require_csrf, system_of
from platekeeper.web.templating import render

router = APIRouter()
pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Viewer = Annotated[Principal, Depends(require("audit.view"))]
Reviewer = Annotated[Principal, Depends(require("audit.review"))]
PAGE_SIZE = 50


# ---- helpers ---------------------------------------------------------------------------------------------------
def _local_day(value: str | None, zone: ZoneInfo, *, after: bool = False) -> dt.datetime | None:
    """Local midnight at the start of a YYYY-MM-DD day (``after``: of the next day, for an inclusive end)."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise AuditReviewError(f"{value!r} is not a date (use YYYY-MM-DD)") from exc
    if after:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone)


def _json_only(request: Request) -> None:
    """Cookie-authenticated JSON writes: a cross-site form cannot send application/json (CSRF)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(415, "send the request body as application/json")


def _error(request: Request, user: Principal, exc: AuditReviewError) -> Response:
    context = {"user": user, "title": "Audit", "message": exc.message}
    return render(request, "error.html", context, status_code=exc.status)


def _event_types() -> list[str]:
    return sorted(audit.EVENT_TYPES)


def _page(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """Render an audit page with the helpers every audit template may use."""
    helpers = {
        "event_descriptions": audit.EVENT_TYPES,
        "summarize": audit_review.event_summary,
        "period_step": dt.timedelta(seconds=1),
        "purpose_labels": {p.key: p.label for p in system_of(request).profile.purposes.authorised},
    }
    return render(request, template, {**helpers, **context}, status_code=status_code)


# ---- the audit log -----------------------------------------------------------------------------------------------
@pages.get("/audit")
def audit_log_page(
    request: Request,
    user: Viewer,
    start: str | None = None,
    end: str | None = None,
    event_type: str | None = None,
    actor: str | None = None,
    plate: str | None = None,
    outcome: str | None = None,
    access_only: bool = False,
    before: int | None = None,
) -> Response:
    """The audit trail, newest first, with filters; this look is audited too."""
    system = system_of(request)
    zone = system.profile.zone
    form = {
        "start": start or "",
        "end": end or "",
        "event_type": event_type or "",
        "actor": actor or "",
        "plate": plate or "",
        "outcome": outcome or "",
        "access_only": access_only,
    }
    try:
        filters = LogFilter(
            start=_local_day(start, zone),
            end=_local_day(end, zone, after=True),
            event_type=event_type or None,
            user=actor or None,
            plate=plate or None,
            outcome=outcome or None,
            access_only=access_only,
        )
    except AuditReviewError as exc:
        context = {"user": user, "form": form, "events": [], "error": exc.message, "event_types": _event_types()}
        return _page(request, "audit_log.html", context, status_code=422)
    with transaction(system.sessions) as session:
        page = audit_review.search_log(session, user.actor, filters, limit=PAGE_SIZE, before_seq=before)
    query = {k: v for k, v in form.items() if v}
    context = {
        "user": user,
        "form": form,
        "events": page.events,
        "next_url": f"/audit?{urlencode({**query, 'before': page.next_before})}" if page.next_before else None,
        "first_url": f"/audit?{urlencode(query)}" if before else None,
        "event_types": _event_types(),
        "error": None,
    }
    return _page(request, "audit_log.html", context)


@pages.get("/audit/verify")
def audit_verify_page(request: Request, user: Viewer) -> Response:
    """Recompute the hash chain and show whether it is intact."""
    result = audit_review.record_verification(system_of(request).sessions, user.actor)
    return _page(request, "audit_verify.html", {"user": user, "result": result})


# ---- samples -------------------------------------------------------------------------------------------------------
def _samples_page(
    request: Request,
    user: Principal,
    error: str | None = None,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
) -> Response:
    system = system_of(request)
    today = dt.datetime.now(system.profile.zone).date()
    with system.sessions() as session:
        samples = audit_review.list_samples(session)
    context = {
        "user": user,
        "samples": samples,
        "error": error,
        "default_start": (today - dt.timedelta(days=30)).isoformat(),
        "default_end": today.isoformat(),
        "default_size": system.profile.audit_review.default_sample_size,
        "form": form or {},
    }
    return _page(request, "audit_samples.html", context, status_code=status_code)


@pages.get("/audit/samples")
def audit_samples_page(request: Request, user: Reviewer) -> Response:
    """Audit samples drawn so far, and the form to draw a new one."""
    return _samples_page(request, user)


@pages.post("/audit/samples")
def audit_draw(
    request: Request,
    user: Reviewer,
    start: Annotated[str, Form(max_length=20)] = "",
    end: Annotated[str, Form(max_length=20)] = "",
    size: Annotated[int, Form(ge=1, le=audit_review.MAX_SAMPLE_SIZE)] = 25,
    seed: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    system = system_of(request)
    require_csrf(request, user, csrf)
    zone = system.profile.zone
    try:
        period_start, period_end = _local_day(start, zone), _local_day(end, zone, after=True)
        if period_start is None or period_end is None:
            raise AuditReviewError("give the first and the last day of the period")
        sample = audit_review.draw_sample(
            system.sessions, system.profile, user.actor, period_start, period_end, size, seed or None
        )
    except AuditReviewError as exc:
        form = {"start": start, "end": end, "size": size, "seed": seed}
        return _samples_page(request, user, exc.message, exc.status, form)
    return RedirectResponse(f"/audit/samples/{sample.id}", status_code=303)


def _sample_context(user: Principal, view: SampleView, zone: ZoneInfo) -> dict[str, Any]:
    items = []
    for item in view.sample.items:
        event = view.events.get(item.audit_seq)
        items.append(
            {
                "item": item,
                "event": event,
                "summary": audit_review.event_summary(event) if event else None,
                "own": event is not None and audit_review.made_by(event, user.actor),
            }
        )
    return {
        "user": user,
        "view": view,
        "sample": view.sample,
        "items": items,
        "flag_help": FLAGS,
        "assessments": ASSESSMENTS,
        "own_count": sum(1 for i in items if i["own"]),
    }


def _sample_page(
    request: Request, user: Principal, sample_id: int, error: str | None = None, status_code: int = 200
) -> Response:
    system = system_of(request)
    try:
        with transaction(system.sessions) as session:
            view = audit_review.get_sample(session, user.actor, sample_id)
    except AuditReviewError as exc:
        return _error(request, user, exc)
    context = {**_sample_context(user, view, system.profile.zone), "error": error}
    return _page(request, "audit_sample.html", context, status_code=status_code)


def _report(request: Request, user: Principal, sample_id: int, fmt: str) -> Response:
    system = system_of(request)
    chain = audit.verify(system.sessions)  # before the write transaction: SQLite serialises them
    try:
        with transaction(system.sessions) as session:
            data = audit_reports.export_sample(session, system.profile, user.actor, sample_id, fmt, chain)
    except AuditReviewError as exc:
        raise HTTPException(exc.status, exc.message) from exc
    return Response(
        data,
        media_type=audit_reports.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="audit-sample-{sample_id}.{fmt}"',
            "Cache-Control": "no-store, private",
        },
    )


@pages.get("/audit/samples/{sample_id:int}.csv")
def audit_sample_csv(request: Request, sample_id: int, user: Reviewer) -> Response:
    """The sample's report as CSV (items, flags, findings, sign-off, chain status)."""
    return _report(request, user, sample_id, "csv")


@pages.get("/audit/samples/{sample_id:int}.pdf")
def audit_sample_pdf(request: Request, sample_id: int, user: Reviewer) -> Response:
    """The sample's report as PDF."""
    return _report(request, user, sample_id, "pdf")


@pages.get("/audit/samples/{sample_id:int}")
def audit_sample_page(request: Request, sample_id: int, user: Reviewer) -> Response:
    """The sampled accesses with their flags and details, the finding forms and the sign-off."""
    return _sample_page(request, user, sample_id)


@pages.post("/audit/samples/{sample_id:int}/items/{audit_seq:int}")
def audit_finding(
    request: Request,
    sample_id: int,
    audit_seq: int,
    user: Reviewer,
    assessment: Annotated[str, Form(max_length=16)] = "",
    finding: Annotated[str, Form(max_length=audit_review.MAX_TEXT)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    system = system_of(request)
    require_csrf(request, user, csrf)
    try:
        audit_review.record_finding(system.sessions, user.actor, sample_id, audit_seq, assessment, finding)
    except AuditReviewError as exc:
        return _sample_page(request, user, sample_id, f"Event #{audit_seq}: {exc.message}", exc.status)
    return RedirectResponse(f"/audit/samples/{sample_id}#item-{audit_seq}", status_code=303)


@pages.post("/audit/samples/{sample_id:int}/signoff")
def audit_signoff(
    request: Request,
    sample_id: int,
    user: Reviewer,
    conclusion: Annotated[str, Form(max_length=audit_review.MAX_TEXT)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    system = system_of(request)
    require_csrf(request, user, csrf)
    try:
        audit_review.sign_off(system.sessions, user.actor, sample_id, conclusion)
    except AuditReviewError as exc:
        return _sample_page(request, user, sample_id, exc.message, exc.status)
    return RedirectResponse(f"/audit/samples/{sample_id}", status_code=303)


# ---- JSON API --------------------------------------------------------------------------------------------------------
class SampleCreate(BaseModel):
    period_start: dt.datetime = Field(description="inclusive, with a time zone")
    period_end: dt.datetime = Field(description="exclusive, with a time zone")
    size: int | None = Field(default=None, ge=1, le=audit_review.MAX_SAMPLE_SIZE)
    seed: str | None = Field(default=None, max_length=64, description="omit for a fresh random seed")
    up_to_seq: int | None = Field(default=None, ge=0, description="redraw below this chain tip (reproduce a sample)")


class FindingCreate(BaseModel):
    audit_seq: int
    assessment: str = Field(description="compliant | concern | violation")
    finding: str = Field(default="", max_length=audit_review.MAX_TEXT)


class SignOffCreate(BaseModel):
    conclusion: str = Field(max_length=audit_review.MAX_TEXT)


def event_public(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(),
        "event_type": event.event_type,
        "outcome": event.outcome,
        "actor_type": event.actor_type,
        "actor_name": event.actor_name,
        "actor_role": event.actor_role,
        "agency": event.agency,
        "unit": event.unit,
        "source_ip": event.source_ip,
        "target": event.target,
        "details": event.details,
        "hash": event.hash,
    }


def sample_public(view: SampleView) -> dict[str, Any]:
    sample: AuditSample = view.sample

    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": sample.id,
        "period_start": iso(sample.period_start),
        "period_end": iso(sample.period_end),
        "seed": sample.seed,
        "requested_size": sample.requested_size,
        "population": sample.population,
        "last_seq": sample.last_seq,
        "drawn_by": sample.drawn_by,
        "drawn_by_unit": sample.drawn_by_unit,
        "drawn_at": iso(sample.drawn_at),
        "conclusion": sample.conclusion,
        "signed_off_by": sample.signed_off_by,
        "signed_off_at": iso(sample.signed_off_at),
        "items": [
            {
                "audit_seq": item.audit_seq,
                "flags": item.flags,
                "assessment": item.assessment,
                "finding": item.finding,
                "reviewed_by": item.reviewed_by,
                "reviewed_at": iso(item.reviewed_at),
                "event": event_public(view.events[item.audit_seq]) if item.audit_seq in view.events else None,
            }
            for item in sample.items
        ],
    }


def _api_error(exc: AuditReviewError) -> JSONResponse:
    return JSONResponse({"detail": exc.message}, status_code=exc.status)


@api.get("/events")
def api_events(
    request: Request,
    user: Viewer,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    event_type: str | None = None,
    actor: str | None = None,
    plate: str | None = None,
    outcome: str | None = None,
    access_only: bool = False,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> Any:
    """The audit log, newest first; ``next_before`` pages on. Audited as ``audit.view``."""
    system = system_of(request)
    try:
        filters = LogFilter(start, end, event_type, actor, plate, outcome, access_only)
    except AuditReviewError as exc:
        return _api_error(exc)
    with transaction(system.sessions) as session:
        page = audit_review.search_log(session, user.actor, filters, limit=limit, before_seq=before)
        events = [event_public(e) for e in page.events]
    return {"events": events, "next_before": page.next_before}


@api.get("/verify")
def api_verify(request: Request, user: Viewer) -> Any:
    """Recompute the hash chain."""
    result = audit_review.record_verification(system_of(request).sessions, user.actor)
    return {"ok": result.ok, "rows": result.rows, "problems": list(result.problems)}


@api.post("/samples", status_code=201)
def api_draw(request: Request, body: SampleCreate, user: Reviewer) -> Any:
    """Draw a random sample of accesses (AUD-3). The same seed, period, size and ``up_to_seq`` redraw it."""
    _json_only(request)
    system = system_of(request)
    try:
        sample = audit_review.draw_sample(
            system.sessions,
            system.profile,
            user.actor,
            body.period_start,
            body.period_end,
            body.size,
            body.seed,
            up_to_seq=body.up_to_seq,
        )
    except AuditReviewError as exc:
        return _api_error(exc)
    return _api_sample(system, user, sample.id)


def _api_sample(system: System, user: Principal, sample_id: int) -> Any:
    try:
        with transaction(system.sessions) as session:
            return sample_public(audit_review.get_sample(session, user.actor, sample_id))
    except AuditReviewError as exc:
        return _api_error(exc)


@api.get("/samples")
def api_samples(request: Request, user: Reviewer) -> Any:
    """Samples drawn so far, newest first (without their items)."""
    with system_of(request).sessions() as session:
        samples = audit_review.list_samples(session)
        return [
            {k: v for k, v in sample_public(SampleView(s, {})).items() if k != "items"} | {"items": len(s.items)}
            for s in samples
        ]


@api.get("/samples/{sample_id}")
def api_sample(request: Request, sample_id: int, user: Reviewer) -> Any:
    """One sample with its items, flags, findings and the sampled events. Audited as ``audit.view``."""
    return _api_sample(system_of(request), user, sample_id)


@api.post("/samples/{sample_id}/findings")
def api_finding(request: Request, sample_id: int, body: FindingCreate, user: Reviewer) -> Any:
    """Assess one sampled access; refused after sign-off and for the auditor's own accesses."""
    _json_only(request)
    system = system_of(request)
    try:
        audit_review.record_finding(
            system.sessions, user.actor, sample_id, body.audit_seq, body.assessment, body.finding
        )
    except AuditReviewError as exc:
        return _api_error(exc)
    return _api_sample(system, user, sample_id)


@api.post("/samples/{sample_id}/signoff")
def api_signoff(request: Request, sample_id: int, body: SignOffCreate, user: Reviewer) -> Any:
    """Sign the sample off; every item must be assessed first. Afterwards it is read-only."""
    _json_only(request)
    system = system_of(request)
    try:
        audit_review.sign_off(system.sessions, user.actor, sample_id, body.conclusion)
    except AuditReviewError as exc:
        return _api_error(exc)
    return _api_sample(system, user, sample_id)


router.include_router(pages)
router.include_router(api)
