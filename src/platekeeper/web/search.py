"""Search, canvass, CSV and evidence exports, and the privacy officer's location view (issue 5).

API under /api/v1/search…, /api/v1/evidence, /api/v1/locations; pages under
/search, /canvass, /exports, /locations. Every data route states the purpose
first (USE-1; refusals audited by ``require_purpose``) and the service audits the
access with every criterion and the result (AUD-1).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.policy.geo import Box
from platekeeper.policy.purposes import PurposeStatement
from platekeeper.services import evidence, location_report, search
from platekeeper.services.purposes import PurposeRefused, require_purpose
from platekeeper.services.search_query import Criteria, Hit, find
from platekeeper.store.images import ImageUnavailableError
from platekeeper.store.models import Camera
from platekeeper.system import System
from platekeeper.web.purpose import purpose_query, refusal_status, stated_purpose
from platekeeper.web.search_schemas import (
    CanvassResponse,
    EvidenceRequest,
    LocationPublic,
    LocationsResponse,
    PlateGroupPublic,
    SceneParams,
    SearchParams,
    SearchResponse,
    hit_public,
    parse_time,
    scene_params,
    search_params,
)
from platekeeper.web.security import Principal, require, require_csrf, system_of
from platekeeper.web.templating import render

router = APIRouter()
SEARCHERS = ("reads.view", "parking_reads.view")
THUMBNAILS = 60  # crops inlined in a result page; the rest open from the read's own page


def _bad(exc: Exception) -> HTTPException:
    return HTTPException(422, str(exc))


def _criteria(params: SearchParams, system: System) -> Criteria:
    try:
        return params.criteria(system.profile.zone)
    except ValueError as exc:
        raise _bad(exc) from exc


def _scene(params: SceneParams, system: System) -> search.Scene:
    try:
        return params.scene(system.profile.zone)
    except ValueError as exc:
        raise _bad(exc) from exc


def _run_search(system: System, user: Principal, purpose: PurposeStatement, params: SearchParams) -> Any:
    criteria = _criteria(params, system)
    require_purpose(
        system.sessions, system.profile, user.actor, purpose, action="search.reads", criteria=criteria.describe()
    )
    with system.sessions() as session, session.begin():
        return search.search(session, user.viewer, purpose, criteria)


def _run_canvass(system: System, user: Principal, purpose: PurposeStatement, params: SceneParams) -> Any:
    scene = _scene(params, system)
    require_purpose(
        system.sessions, system.profile, user.actor, purpose, action="search.canvass", criteria=scene.describe()
    )
    with system.sessions() as session, session.begin():
        return search.canvass(session, user.viewer, purpose, scene, colour=params.colour)


# ---- JSON API --------------------------------------------------------------------------------------------------------
@router.get("/api/v1/search/reads", response_model=SearchResponse, tags=["search"])
def api_search(
    request: Request,
    user: Annotated[Principal, Depends(require(*SEARCHERS))],
    purpose: Annotated[PurposeStatement, Depends(stated_purpose)],
    params: Annotated[SearchParams, Depends(search_params)],
) -> SearchResponse:
    """Exact, partial (``?`` one character, ``*`` any run) or fuzzy plate search with filters (USE-4).

    Needs the purpose fields (USE-1). Audited with every criterion, the count and the plates returned,
    also when nothing is found."""
    result = _run_search(system_of(request), user, purpose, params)
    return SearchResponse(
        count=len(result.hits),
        truncated=result.truncated,
        criteria=result.criteria.describe(),
        results=[hit_public(h) for h in result.hits],
    )


@router.get("/api/v1/search/canvass", response_model=CanvassResponse, tags=["search"])
def api_canvass(
    request: Request,
    user: Annotated[Principal, Depends(require(*SEARCHERS))],
    purpose: Annotated[PurposeStatement, Depends(stated_purpose)],
    params: Annotated[SceneParams, Depends(scene_params)],
) -> CanvassResponse:
    """Canvass a scene: every read within ``radius_m`` metres and ``minutes`` of a place and time, by plate."""
    result = _run_canvass(system_of(request), user, purpose, params)
    groups = [
        PlateGroupPublic(
            plate=g.plate, count=len(g.hits), first=g.first, last=g.last, reads=[hit_public(h) for h in g.hits]
        )
        for g in result.groups
    ]
    return CanvassResponse(
        count=len(result.hits), truncated=result.truncated, scene=result.scene.describe(), groups=groups
    )


def _csv_response(system: System, user: Principal, purpose: PurposeStatement, params: SearchParams) -> Response:
    criteria = _criteria(params, system)
    require_purpose(
        system.sessions, system.profile, user.actor, purpose, action="search.export_csv", criteria=criteria.describe()
    )
    with system.sessions() as session, session.begin():
        found = find(session, criteria, user.viewer.agency_kinds())
        search.record_access(session, user.viewer, purpose, "search.export_csv", criteria.describe(), found)
        body = evidence.csv_text([evidence.read_row(h.read) for h in found.hits])
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="reads.csv"', "Cache-Control": "no-store"},
    )


@router.get("/api/v1/search/reads.csv", tags=["search"])
def api_search_csv(
    request: Request,
    user: Annotated[Principal, Depends(require("reads.export"))],
    purpose: Annotated[PurposeStatement, Depends(stated_purpose)],
    params: Annotated[SearchParams, Depends(search_params)],
) -> Response:
    """The same search as CSV (reads.export). Audited as an export."""
    return _csv_response(system_of(request), user, purpose, params)


def _evidence(system: System, user: Principal, purpose: PurposeStatement, reads: list[str], reason: str) -> Response:
    require_purpose(
        system.sessions, system.profile, user.actor, purpose, action="evidence.export", criteria={"reads": reads}
    )
    try:
        with system.sessions() as session, session.begin():
            package = evidence.export(session, system.images, user.viewer, purpose, reads, reason)
    except evidence.EvidenceError as exc:
        raise _bad(exc) from exc
    return Response(
        package.data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{package.filename}"',
            "X-Evidence-Export": package.export.uid,
            "X-Evidence-SHA256": package.export.package_sha256,
            "Cache-Control": "no-store",
        },
    )


@router.post("/api/v1/evidence", tags=["search"], response_class=Response)
def api_evidence(
    request: Request,
    body: EvidenceRequest,
    user: Annotated[Principal, Depends(require("reads.export"))],
    purpose: Annotated[PurposeStatement, Depends(stated_purpose)],
) -> Response:
    """An evidence package (zip: images, metadata, hashes, chain of custody) of the given reads (RET-3).

    The reads are placed on hold. Needs the purpose fields and a reason."""
    return _evidence(system_of(request), user, purpose, body.reads, body.reason)


def _locations(request: Request, user: Principal, since: str | None, until: str | None, box: str | None,
               hits_only: bool) -> location_report.LocationReport:  # fmt: skip
    system = system_of(request)
    try:
        bounds = Box(*(float(v) for v in box.split(","))) if box else None
        start, end = parse_time(since, system.profile.zone), parse_time(until, system.profile.zone)
    except (TypeError, ValueError) as exc:
        raise _bad(ValueError("box is south,west,north,east; times are ISO 8601")) from exc
    with system.sessions() as session, session.begin():
        return location_report.read_locations(
            session, user.viewer, since=start, until=end, box=bounds, hits_only=hits_only
        )


@router.get("/api/v1/locations", response_model=LocationsResponse, tags=["reports"])
def api_locations(
    request: Request,
    user: Annotated[Principal, Depends(require("reads.locations"))],
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    box: Annotated[str | None, Query(max_length=100, description="south,west,north,east")] = None,
    hits_only: bool = False,
) -> LocationsResponse:
    """REP-2: read locations (lat/lon, time, camera, hit flag) with plates withheld. Audited."""
    report = _locations(request, user, since, until, box, hits_only)
    return LocationsResponse(
        count=len(report.rows),
        truncated=report.truncated,
        by_place=report.by_place(),
        rows=[LocationPublic(**vars(r)) for r in report.rows],
    )


# ---- pages ----------------------------------------------------------------------------------------------------------
def _thumbs(system: System, session: Session, hits: list[Hit]) -> dict[str, str]:
    """Inlined crops, so the one audited search covers what was shown."""
    thumbs: dict[str, str] = {}
    for hit in hits[:THUMBNAILS]:
        crop = next((i for i in hit.read.images if i.kind == "crop"), None)
        if crop is None:
            continue
        try:
            data = system.images.get(crop.capture_day, crop.blob_name, session)
        except ImageUnavailableError:
            continue
        thumbs[hit.read.uid] = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
    return thumbs


def _cameras(system: System) -> list[dict[str, Any]]:
    with system.sessions() as session:
        rows = session.execute(select(Camera.key, Camera.name, Camera.latitude, Camera.longitude)).all()
    return [{"key": r.key, "name": r.name, "lat": r.latitude, "lon": r.longitude} for r in rows]


def _page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    system = system_of(request)
    return render(request, template, {"cameras": _cameras(system), **context}, status_code=status)


def _problem(request: Request, template: str, context: dict[str, Any], exc: Exception) -> Response:
    """The form again, saying why: a refused purpose (audited already) or a criterion that does not parse."""
    if isinstance(exc, PurposeRefused):
        status = refusal_status(exc.refusal)
        context["error"] = exc.refusal.message
    else:
        status, context["error"] = 422, getattr(exc, "detail", str(exc))
    return _page(request, template, context, status=status)


def _results_page(
    request: Request,
    template: str,
    user: Principal,
    purpose: PurposeStatement,
    params: Any,
    run: Callable[..., Any],
) -> Response:
    """The form alone until criteria are given; then the audited results, with crops for roles that may see them."""
    system = system_of(request)
    context: dict[str, Any] = {"user": user, "purpose": purpose, "params": params, "result": None, "error": None}
    if not params.given():
        return _page(request, template, context)
    try:
        result = run(system, user, purpose, params)
    except (PurposeRefused, HTTPException) as exc:
        return _problem(request, template, context, exc)
    with system.sessions() as session:
        thumbs = _thumbs(system, session, result.hits) if user.can("images.view") else {}
    context |= {"result": result, "thumbs": thumbs, "pq": purpose_query(purpose), "query": str(request.url.query)}
    return _page(request, template, context)


@router.get("/search", include_in_schema=False)
def search_page(
    request: Request,
    user: Annotated[Principal, Depends(require(*SEARCHERS))],
    purpose: Annotated[PurposeStatement, Depends(stated_purpose)],
    params: Annotated[SearchParams, Depends(search_params)],
) -> Response:
    """The search form; with criteria, the results as a table and on the map."""
    return _results_page(request, "search.html", user, purpose, params, _run_search)


@router.get("/canvass", include_in_schema=False)
def canvass_page(
    request: Request,
    user: Annotated[Principal, Depends(require(*SEARCHERS))],
    purpose: Annotated[PurposeStatement, Depends(stated_purpose)],
    params: Annotated[SceneParams, Depends(scene_params)],
) -> Response:
    """Canvass a scene: pick the place on the map, give the time, radius and window."""
    return _results_page(request, "canvass.html", user, purpose, params, _run_canvass)


@router.get("/search.csv", include_in_schema=False)
def search_csv(
    request: Request,
    user: Annotated[Principal, Depends(require("reads.export"))],
    purpose: Annotated[PurposeStatement, Depends(stated_purpose)],
    params: Annotated[SearchParams, Depends(search_params)],
) -> Response:
    return _csv_response(system_of(request), user, purpose, params)


@router.post("/exports", include_in_schema=False)
async def export_evidence(
    request: Request,
    user: Annotated[Principal, Depends(require("reads.export"))],
    csrf: Annotated[str, Form(max_length=200)],
    reason: Annotated[str, Form(max_length=1000)] = "",
    purpose: Annotated[str, Form(max_length=64)] = "",
    case_number: Annotated[str, Form(max_length=64)] = "",
    no_case_reason: Annotated[str, Form(max_length=500)] = "",
    presumed_crime: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """The evidence form on a result page: the chosen reads (``read`` fields) with the search's purpose."""
    require_csrf(request, user, csrf)
    system = system_of(request)
    form = await request.form()
    reads = [str(v) for v in form.getlist("read")][: evidence.MAX_READS]
    statement = PurposeStatement.from_fields(purpose, case_number, no_case_reason, presumed_crime)
    return _evidence(system, user, statement, reads, reason)


@router.get("/exports", include_in_schema=False)
def exports_page(request: Request, user: Annotated[Principal, Depends(require("reads.export"))]) -> Response:
    """Chain of custody: who exported which reads, when and why."""
    system = system_of(request)
    with system.sessions() as session, session.begin():
        rows = evidence.list_exports(session, user.viewer)
    return render(request, "exports.html", {"user": user, "exports": rows})


@router.get("/locations", include_in_schema=False)
def locations_page(
    request: Request,
    user: Annotated[Principal, Depends(require("reads.locations"))],
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    hits_only: bool = False,
) -> Response:
    """REP-2: reads and hits by location, plates withheld."""
    report = _locations(request, user, since or None, until or None, None, hits_only)
    context = {"user": user, "places": report.by_place(), "report": report, "since": since, "until": until}
    return _page(request, "locations.html", context)
