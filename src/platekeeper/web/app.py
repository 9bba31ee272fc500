"""The application factory: ``create_app(settings)`` wires everything; nothing happens at import."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import platekeeper
from platekeeper.services.purposes import PurposeRefused
from platekeeper.settings import Settings, load_settings
from platekeeper.system import System
from platekeeper.web import admin, api, audit_pages, ui
from platekeeper.web import alerts as alerts_web
from platekeeper.web import hotlists as hotlists_web
from platekeeper.web import search as search_web
from platekeeper.web.purpose import refusal_status
from platekeeper.web.security import Forbidden, NotAuthenticated, undeclared_routes
from platekeeper.web.templating import render

# FastAPI's own documentation routes: they describe the API and reveal no data.
DOC_ROUTES = {"/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# Swagger UI needs its own scripts; it is served from the package, never a CDN.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'"
)


class SecurityHeaders:
    """Adds the security headers to every response. Plain ASGI, not BaseHTTPMiddleware: that one copies
    each response through a stream of its own, which costs every ingest request and every live event."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] in DOC_ROUTES

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if docs:
                    headers["Content-Security-Policy"] = DOCS_CSP
                if self.hsts:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, _exc: NotAuthenticated) -> Response:
        if _wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return JSONResponse({"detail": "sign in first"}, status_code=401)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        message = f"your role may not do this (needs {exc.permission})"
        if _wants_html(request):
            return render(request, "error.html", {"title": "Not permitted", "message": message}, status_code=403)
        return JSONResponse({"detail": message}, status_code=403)

    @app.exception_handler(PurposeRefused)
    async def _purpose_refused(request: Request, exc: PurposeRefused) -> Response:
        status = refusal_status(exc.refusal)
        if _wants_html(request):
            context = {"title": "Purpose refused", "message": exc.refusal.message}
            return render(request, "error.html", context, status_code=status)
        return JSONResponse({"detail": exc.refusal.message, "refusal": exc.refusal.code}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "problem": e["msg"]} for e in exc.errors()
        ]
        return JSONResponse({"detail": "the request is not valid", "problems": problems}, status_code=422)


def app_from_environment() -> FastAPI:
    """The app of one worker of ``platekeeper serve --workers N``, from the ``PLATEKEEPER_*`` environment."""
    return create_app(load_settings())


def create_app(settings: Settings, *, system: System | None = None) -> FastAPI:
    system = system or System.build(settings)
    app = FastAPI(
        title="platekeeper",
        version=platekeeper.__version__,
        description=(
            "Automated license plate reader that enforces ALPR policy. Every call that touches ALPR data is audited."
        ),
        docs_url=None,
        redoc_url=None,
    )
    app.state.system = system
    app.add_middleware(SecurityHeaders, hsts=settings.production)
    app.mount(
        "/static", StaticFiles(directory=str(resources.files("platekeeper.web").joinpath("static"))), name="static"
    )
    app.mount("/static-docs", ui.swagger_static(), name="static-docs")
    app.include_router(api.router)
    app.include_router(ui.router)
    app.include_router(audit_pages.router)  # audit log, verification, audit samples (AUD-1..3)
    app.include_router(admin.router)  # users, training, approvals, sign-in log, access review, roles, keys (ACC)
    app.include_router(hotlists_web.router)  # hot lists, entries, approval, sync, edge download (HOT-1..4, USE-4)
    app.include_router(alerts_web.router)  # live alerts, verification, disposition, accuracy (HOT-5, HOT-6, CAP-5)
    app.include_router(search_web.router)  # search, canvass, CSV and evidence exports, locations (issue 5)
    _install_error_handlers(app)
    missing = undeclared_routes(list(app.router.routes), exempt=DOC_ROUTES)  # every router, also those added later
    if missing:
        raise RuntimeError(f"routes without an access rule (deny by default): {missing}")
    return app
