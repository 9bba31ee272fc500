"""The one command, ``platekeeper``, with its subcommands."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from platekeeper import __version__
from platekeeper.services.audit import Actor
from platekeeper.settings import Settings, load_settings

app = typer.Typer(
    help="platekeeper: an ALPR system that enforces its agency's policy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
config_app = typer.Typer(help="Settings and the agency policy profile.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
cameras_app = typer.Typer(help="Cameras, privacy masks, attestations, API keys.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(cameras_app, name="cameras")
app.add_typer(audit_app, name="audit")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data directory (default ./platekeeper-data).",
        envvar="PLATEKEEPER_DATA_DIR",
        show_envvar=True,
    ),
]


class _State:
    config_file: Path | None = None
    data_dir: Path | None = None


state = _State()


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def settings(data_dir: Path | None = None) -> Settings:
    try:
        return load_settings(state.config_file, data_dir=data_dir or state.data_dir)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(f"settings: {exc}") from exc


def open_system(data_dir: Path | None = None, *, migrate: bool = False):  # type: ignore[no-untyped-def]
    from platekeeper.policy.profile import ProfileError
    from platekeeper.system import NotMigratedError, System

    try:
        return System.build(settings(data_dir), migrate=migrate)
    except (NotMigratedError, ProfileError, ValueError) as exc:
        raise fail(str(exc)) from exc


def cli_actor() -> Actor:
    import getpass

    return Actor(type="system", name=f"cli:{getpass.getuser()}")


@app.callback()
def main_options(
    config: Annotated[
        Path | None, typer.Option("--config", help="Settings file (TOML) with PLATEKEEPER_* keys in lower case.")
    ] = None,
    data_dir: DataDir = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    state.config_file = config
    state.data_dir = data_dir


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


# ---- config -----------------------------------------------------------------------------------------
@config_app.command("validate")
def config_validate(file: Annotated[Path, typer.Argument(help="Policy profile YAML to check.")]) -> None:
    """Check a policy profile; on error, say which line is wrong and exit 1."""
    from platekeeper.policy.profile import ProfileError, load_profile

    try:
        profile = load_profile(str(file))
    except ProfileError as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        f"ok: {file} is a valid policy profile ({profile.name}; {len(profile.roles)} roles, "
        f"{len(profile.purposes.authorised)} authorised purposes)"
    )


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings (secrets hidden) and the profile in use."""
    current = settings()
    shown = current.model_dump(mode="json")
    for secret in ("master_key", "secret_key"):
        shown[secret] = "(set)" if shown.get(secret) else "(not set)"
    shown["database_url"] = current.resolved_database_url if current.is_sqlite else "(set)"
    typer.echo(json.dumps(shown, indent=2))


# ---- db -----------------------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Create or upgrade the database schema to the current version."""
    from platekeeper.store import db

    system = open_system(data_dir, migrate=True)
    typer.echo(f"database at revision {db.current_revision(system.engine)}")


@db_app.command("current")
def db_current(data_dir: DataDir = None) -> None:
    """Print the schema revision of the database."""
    from platekeeper.store import db

    engine = db.make_engine(settings(data_dir).resolved_database_url)
    typer.echo(f"current: {db.current_revision(engine)}  head: {db.head_revision(engine)}")


# ---- users --------------------------------------------------------------------------------------------
@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="Login name.")],
    role: Annotated[str, typer.Option(help="Role key from the policy profile, e.g. admin.")],
    name: Annotated[str, typer.Option(help="Full name.")] = "",
    unit: Annotated[str | None, typer.Option(help="Unit or assignment.")] = None,
    badge: Annotated[str | None, typer.Option(help="Badge number (sworn members).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a user; the password is asked for (or read from PLATEKEEPER_NEW_PASSWORD)."""
    import os

    from platekeeper.services.users import UserError, create_user
    from platekeeper.store.db import transaction

    system = open_system(data_dir)
    password = os.environ.get("PLATEKEEPER_NEW_PASSWORD") or typer.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    try:
        with transaction(system.sessions) as session:
            user = create_user(
                session,
                system.profile,
                cli_actor(),
                username=username,
                password=password,
                role=role,
                display_name=name or username,
                unit=unit,
                badge_number=badge,
            )
    except UserError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"created user {user.username} ({role})")


# ---- cameras ------------------------------------------------------------------------------------------
@cameras_app.command("add")
def cameras_add(
    camera_id: Annotated[str, typer.Argument(help="Short id, e.g. fixed-1.")],
    name: Annotated[str, typer.Option(help="Human name, e.g. 'Tully Rd at Monterey Rd'.")],
    kind: Annotated[str, typer.Option(help="fixed or mobile.")] = "fixed",
    lat: Annotated[float | None, typer.Option(help="Surveyed latitude (fixed cameras).")] = None,
    lon: Annotated[float | None, typer.Option(help="Surveyed longitude (fixed cameras).")] = None,
    mask: Annotated[
        list[str] | None, typer.Option(help="Privacy mask polygon 'x1,y1 x2,y2 x3,y3' in pixels; repeat for more.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Add a camera. It delivers no reads until its public view is attested."""
    from platekeeper.services.cameras import CameraError, create_camera, parse_polygon
    from platekeeper.store.db import transaction

    system = open_system(data_dir)
    try:
        polygons = [parse_polygon(m) for m in mask or []]
        with transaction(system.sessions) as session:
            create_camera(
                session,
                system.profile,
                cli_actor(),
                key=camera_id,
                name=name,
                kind=kind,
                latitude=lat,
                longitude=lon,
                masks=polygons,
            )
    except CameraError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"added camera {camera_id}; attest its public view with `platekeeper cameras attest {camera_id}`")


@cameras_app.command("attest")
def cameras_attest(
    camera_id: str,
    statement: Annotated[str, typer.Option(help="What the camera sees, and that it is all in public view.")],
    by: Annotated[str, typer.Option(help="Name and title of the person attesting.")],
    data_dir: DataDir = None,
) -> None:
    """Record the public-view attestation that lets a camera go live (CAP-3)."""
    from platekeeper.services.cameras import CameraError, attest_public_view, get_camera
    from platekeeper.store.db import transaction

    system = open_system(data_dir)
    try:
        with transaction(system.sessions) as session:
            attest_public_view(
                session, cli_actor(), get_camera(session, camera_id), statement=statement, attested_by=by
            )
    except CameraError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"camera {camera_id} is live")


@cameras_app.command("api-key")
def cameras_api_key(camera_id: str, data_dir: DataDir = None) -> None:
    """Issue a new API key for a camera or edge unit (replaces the old one; printed once)."""
    from platekeeper.services.cameras import CameraError, get_camera, issue_api_key
    from platekeeper.store.db import transaction

    system = open_system(data_dir)
    try:
        with transaction(system.sessions) as session:
            key = issue_api_key(session, cli_actor(), get_camera(session, camera_id))
    except CameraError as exc:
        raise fail(str(exc)) from exc
    typer.echo(key)
    typer.secho("Store this key in the camera now: it is not shown again.", err=True, fg=typer.colors.YELLOW)


@cameras_app.command("gps-import")
def cameras_gps_import(
    camera_id: str, file: Annotated[Path, typer.Argument(help="CSV: time,latitude,longitude")], data_dir: DataDir = None
) -> None:
    """Import a mobile camera's GPS track; reads take the fix nearest their capture time."""
    from platekeeper.services import audit
    from platekeeper.services.cameras import CameraError, add_gps_fixes, get_camera, read_gps_csv
    from platekeeper.store.db import transaction

    system = open_system(data_dir)
    try:
        fixes = read_gps_csv(file)
        with transaction(system.sessions) as session:
            count = add_gps_fixes(session, get_camera(session, camera_id), fixes)
            audit.record(
                session,
                audit.Event(
                    "camera.gps_import",
                    cli_actor(),
                    target=f"camera:{camera_id}",
                    details={"fixes": count, "file": file.name},
                ),
            )
    except (CameraError, OSError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"imported {count} GPS fixes for {camera_id}")


@cameras_app.command("list")
def cameras_list(data_dir: DataDir = None) -> None:
    """List cameras with their state."""
    from sqlalchemy import select

    from platekeeper.store.models import Camera

    system = open_system(data_dir)
    with system.sessions() as session:
        for cam in session.scalars(select(Camera).order_by(Camera.key)):
            where = f"{cam.latitude:.5f},{cam.longitude:.5f}" if cam.latitude is not None else "GPS track"
            typer.echo(
                f"{cam.key:<16} {cam.kind:<7} {'live' if cam.live else 'NOT ATTESTED':<13} "
                f"masks={len(cam.privacy_masks)} key={'yes' if cam.api_key_hash else 'no':<3} {where}  {cam.name}"
            )


# ---- recognition and ingest ----------------------------------------------------------------------------
@app.command("read")
def read_command(
    paths: Annotated[list[Path], typer.Argument(help="Images or folders of images.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per image per line.")] = False,
    top: Annotated[int, typer.Option("--top", min=1, max=20, help="Alternatives per plate.")] = 5,
    threads: Annotated[int, typer.Option("--threads", min=1, max=64, help="Inference threads.")] = 1,
) -> None:
    """Read plates in images; prints the recognition contract's JSON with --json."""
    from tqdm import tqdm

    from platekeeper.recognition.pipeline import default_recognizer
    from platekeeper.recognition.runner import iter_image_files, read_contract

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise fail(f"no such file or folder: {', '.join(missing)}", code=2)
    files = list(iter_image_files(paths))
    recognizer = default_recognizer(threads=threads)
    show_bar = any(p.is_dir() for p in paths) and sys.stderr.isatty()
    for path in tqdm(files, unit="image", disable=not show_bar, file=sys.stderr):
        result = read_contract(recognizer, path, top)
        if as_json:
            typer.echo(json.dumps(result, ensure_ascii=False))
        elif "error" in result:
            typer.echo(f"{path}: error: {result['error']}")
        else:
            plates = ", ".join(f"{p['plate']} ({p['confidence']:.2f})" for p in result["plates"]) or "no plate"
            typer.echo(f"{path}: {plates}")


@app.command("ingest")
def ingest_command(
    paths: Annotated[list[Path], typer.Argument(help="Image files, folders and video files.")],
    camera: Annotated[str, typer.Option("--camera", help="Camera id the images come from.")],
    fps: Annotated[float, typer.Option(help="Frames per second sampled from videos.", min=0.1, max=60)] = 2.0,
    captured_at: Annotated[
        str | None, typer.Option(help="Capture time for all stills (ISO 8601 with zone); default EXIF, then file time.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Read plates from files and store the reads with their encrypted images."""
    from platekeeper.services.ingest_files import ingest_paths

    system = open_system(data_dir)
    when = None
    if captured_at:
        try:
            when = dt.datetime.fromisoformat(captured_at.replace("Z", "+00:00"))
        except ValueError as exc:
            raise fail(f"--captured-at {captured_at!r} is not an ISO 8601 time") from exc
    try:
        summary = ingest_paths(
            system, cli_actor(), camera, paths, fps=fps, captured_at=when, progress=sys.stderr.isatty()
        )
    except ValueError as exc:
        raise fail(str(exc)) from exc
    for problem in summary.errors:
        typer.secho(f"skipped {problem}", err=True, fg=typer.colors.YELLOW)
    typer.echo(
        f"{summary.files} files: {summary.created} reads stored, {summary.duplicates} duplicates, "
        f"{len(summary.errors)} files skipped"
    )
    if summary.errors and not summary.created:
        raise typer.Exit(1)


# ---- web -------------------------------------------------------------------------------------------------
@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    data_dir: DataDir = None,
) -> None:
    """Serve the web UI and API."""
    import uvicorn

    from platekeeper.web.app import create_app

    system = open_system(data_dir)
    uvicorn.run(create_app(system.settings, system=system), host=host, port=port, log_level="info", access_log=False)


@app.command("demo")
def demo(
    port: Annotated[int, typer.Option(help="Port for the web UI.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    data_dir: DataDir = None,
    serve_ui: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the UI after setting up.")] = True,
) -> None:
    """Set up an embedded demo system (San José profile, three cameras, demo reads) and serve it."""
    from platekeeper.demo.setup import run_demo

    run_demo(settings(data_dir), host=host, port=port, serve=serve_ui)


# ---- audit ----------------------------------------------------------------------------------------------
@audit_app.command("verify")
def audit_verify(data_dir: DataDir = None) -> None:
    """Prove the audit chain unbroken; exit 1 if any row was altered, removed or reordered."""
    from platekeeper.services.audit import verify

    system = open_system(data_dir)
    result = verify(system.sessions)
    if not result.ok:
        for problem in result.problems:
            typer.secho(problem, err=True, fg=typer.colors.RED)
        raise fail(f"audit trail is NOT intact ({len(result.problems)} problem(s) in {result.rows} rows)")
    typer.echo(f"audit trail intact: {result.rows} events, chain verified")


def main() -> None:
    app()
