"""Jinja2 templates with the agency's time zone and the CSRF token at hand."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from platekeeper.web.security import csrf_token


@cache
def _environment() -> Environment:
    folder = str(resources.files("platekeeper.web").joinpath("templates"))
    return Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(["html"]), auto_reload=False)


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    system = request.app.state.system
    zone = system.profile.zone
    principal = context.get("user")

    def local(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        return value.astimezone(zone).strftime(fmt) if value else ""

    env = _environment()
    page = env.get_template(template).render(
        request=request,
        profile=system.profile,
        zone_name=zone.key,
        local=local,
        csrf=csrf_token(system.secret_key, principal.session_token) if principal else "",
        **context,
    )
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store"})
