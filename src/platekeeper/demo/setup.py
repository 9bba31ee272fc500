"""``platekeeper demo``: an embedded system with the San José profile, three cameras and demo reads."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import typer
from sqlalchemy import select

from platekeeper.services import access, audit, second_factor
from platekeeper.services.cameras import add_gps_fixes, attest_public_view, create_camera
from platekeeper.services.ingest_files import ingest_paths
from platekeeper.services.users import create_user
from platekeeper.settings import Settings
from platekeeper.store.db import transaction
from platekeeper.store.models import User, utcnow
from platekeeper.system import System

ADMIN = "admin"
DEMO_ACTOR = audit.Actor.system("demo")


@dataclass(frozen=True)
class DemoCamera:
    key: str
    name: str
    kind: str
    lat: float | None
    lon: float | None
    masks: tuple[tuple[tuple[float, float], ...], ...] = ()


# Surveyed spots at San José intersections; the mask hides a house front beside the road (CAP-3).
CAMERAS = (
    DemoCamera(
        "fixed-1",
        "Tully Rd at Monterey Rd (eastbound)",
        "fixed",
        37.30566,
        -121.86117,
        (((1080.0, 0.0), (1280.0, 0.0), (1280.0, 140.0), (1080.0, 140.0)),),
    ),
    DemoCamera("fixed-2", "Story Rd at King Rd (westbound)", "fixed", 37.34966, -121.85202),
    DemoCamera("mobile-1", "Patrol unit 12 (mobile)", "mobile", None, None),
)
# The patrol car's route: along Santa Clara St from downtown toward Alum Rock.
TRACK_START = (37.33618, -121.89041)
TRACK_END = (37.35093, -121.86279)


def demo_assets() -> tuple[Path, list[dict[str, object]]]:
    folder = Path(str(resources.files("platekeeper.demo").joinpath("assets")))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return folder, list(manifest)


def _gps_track(start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, float, float]]:
    steps = max(2, int((end - start).total_seconds() // 30))
    fixes = []
    for i in range(steps + 1):
        f = i / steps
        fixes.append(
            (
                start + (end - start) * f,
                TRACK_START[0] + (TRACK_END[0] - TRACK_START[0]) * f,
                TRACK_START[1] + (TRACK_END[1] - TRACK_START[1]) * f,
            )
        )
    return fixes


def _set_up(system: System) -> tuple[str, str]:
    """The demo's cameras and its administrator; returns the administrator's password and TOTP key."""
    password = secrets.token_urlsafe(12)
    totp_secret = second_factor.new_secret()
    now = utcnow()
    _, manifest = demo_assets()
    longest = max(int(str(item["offset_s"])) for item in manifest)
    with transaction(system.sessions) as session:
        admin = create_user(
            session,
            system.profile,
            DEMO_ACTOR,
            username=ADMIN,
            password=password,
            role="admin",
            display_name="Demo Administrator",
            unit="Crime Data Intelligence Center",
        )
        # ACC-1 holds in the demo too: the account is trained and approved before it can sign in.
        access.record_training(
            session,
            system.profile,
            DEMO_ACTOR,
            admin,
            topics=list(system.profile.training.topics),
            completed_on=now.date(),
            trainer="platekeeper demo orientation",
        )
        access.approve(session, system.profile, DEMO_ACTOR, admin, approver=None)
        admin.totp_secret_enc = second_factor.encrypt_secret(system.field_key, totp_secret)
        admin.totp_enrolled_at = now
        for spec in CAMERAS:
            camera = create_camera(
                session,
                system.profile,
                DEMO_ACTOR,
                key=spec.key,
                name=spec.name,
                kind=spec.kind,
                latitude=spec.lat,
                longitude=spec.lon,
                masks=[list(map(list, m)) for m in spec.masks],
            )
            attest_public_view(
                session,
                DEMO_ACTOR,
                camera,
                attested_by="Demo Administrator, CDIC",
                statement=f"{spec.name}: the field of view covers the public roadway only; "
                "the neighbouring house front is masked.",
            )
            if spec.kind == "mobile":
                add_gps_fixes(session, camera, _gps_track(now - dt.timedelta(seconds=longest + 600), now))
        audit.record(session, audit.Event("system.demo", DEMO_ACTOR, details={"cameras": [c.key for c in CAMERAS]}))
    return password, totp_secret


def _ingest_assets(system: System) -> int:
    folder, manifest = demo_assets()
    now = utcnow()
    stored = 0
    for item in manifest:
        when = now - dt.timedelta(seconds=int(str(item["offset_s"])))
        summary = ingest_paths(
            system, DEMO_ACTOR, str(item["camera"]), [folder / str(item["file"])], captured_at=when, progress=False
        )
        stored += summary.created
    return stored


def run_demo(settings: Settings, *, host: str, port: int, serve: bool) -> None:
    settings = settings.model_copy(update={"profile": "san-jose-dup"})
    system = System.build(settings, migrate=True)
    with system.sessions() as session:
        first_run = session.scalar(select(User.id).where(User.username == ADMIN)) is None
    url = f"http://{host}:{port}/"
    if first_run:
        password, totp_secret = _set_up(system)
        typer.echo("Reading the demo images (first run only)…", err=True)
        stored = _ingest_assets(system)
        typer.secho("\n  platekeeper demo is ready", bold=True)
        typer.echo(f"  data directory: {settings.data_dir.resolve()}")
        typer.echo(f"  reads stored:   {stored} from {len(CAMERAS)} cameras")
        typer.echo(f"  sign in at:     {url}")
        typer.echo(f"  username:       {ADMIN}")
        typer.secho(f"  password:       {password}", bold=True)
        typer.secho(f"  TOTP key:       {totp_secret}", bold=True)
        typer.echo(
            "  (both are shown only this once; add the key to an authenticator app, or get a code with\n"
            f"   `oathtool --totp -b {totp_secret}`: administrators sign in with a second factor)\n"
        )
    else:
        typer.echo(
            f"Demo data found in {settings.data_dir.resolve()}; sign in at {url} as {ADMIN} "
            "with the password printed on the first run (delete the folder to start over)."
        )
    if serve:
        import uvicorn

        from platekeeper.web.app import create_app

        uvicorn.run(create_app(settings, system=system), host=host, port=port, log_level="warning", access_log=False)
