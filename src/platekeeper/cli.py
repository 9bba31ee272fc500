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
roles_app = typer.Typer(help="What each role may do (ACC-5).", no_args_is_help=True)
keys_app = typer.Typer(help="Scoped API keys for cameras and edge units.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(cameras_app, name="cameras")
app.add_typer(audit_app, name="audit")
app.add_typer(roles_app, name="roles")
app.add_typer(keys_app, name="keys")

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
    typer.echo(
        f"{user.username} cannot sign in until a training record is on file (`platekeeper users train`) and a "
        "supervisor approves the account (`platekeeper users approve`, or in the web UI)."
    )


def _admin(username: str, data_dir: Path | None, change: str, **options: object) -> None:
    """Apply one account change from services.access, in its own audited transaction."""
    from platekeeper.services import access
    from platekeeper.store.db import transaction

    system = open_system(data_dir)
    try:
        with transaction(system.sessions) as session:
            user = access.get_user(session, username)
            actor = cli_actor()
            if change == "train":
                access.record_training(session, system.profile, actor, user, **options)  # type: ignore[arg-type]
            elif change == "approve":
                access.approve(session, system.profile, actor, user, approver=None)
            elif change == "disable":
                access.disable(session, actor, user, str(options["reason"]), system.profile)
            elif change == "enable":
                access.enable(session, actor, user)
            elif change == "unlock":
                access.unlock(session, actor, user)
            elif change == "reset-2fa":
                access.reset_second_factor(session, actor, user)
    except access.AccessError as exc:
        raise fail(str(exc)) from exc


@users_app.command("train")
def users_train(
    username: str,
    trainer: Annotated[str, typer.Option(help="Who gave the training.")],
    on: Annotated[str, typer.Option("--date", help="Date completed, YYYY-MM-DD.")] = "",
    topic: Annotated[
        list[str] | None, typer.Option(help="A topic key from the profile; repeat. Default: all four topics.")
    ] = None,
    note: Annotated[str | None, typer.Option(help="Course name, certificate number.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Record a training record (ACC-1): legal authorities, usage protocol, security measures, practical exercise."""
    try:
        completed = dt.date.fromisoformat(on) if on else dt.date.today()
    except ValueError as exc:
        raise fail(f"--date must be YYYY-MM-DD, not {on!r}") from exc
    system_topics = open_system(data_dir).profile.training.topics
    _admin(
        username,
        data_dir,
        "train",
        topics=list(topic or system_topics),
        completed_on=completed,
        trainer=trainer,
        note=note,
    )
    typer.echo(f"training recorded for {username}")


@users_app.command("approve")
def users_approve(username: str, data_dir: DataDir = None) -> None:
    """Approve an account as the system operator (first administrators); supervisors approve in the web UI."""
    _admin(username, data_dir, "approve")
    typer.echo(f"{username} is approved")


@users_app.command("disable")
def users_disable(
    username: str, reason: Annotated[str, typer.Option(help="Why (kept with the account).")], data_dir: DataDir = None
) -> None:
    """Disable an account; its sessions stop working at once."""
    _admin(username, data_dir, "disable", reason=reason)
    typer.echo(f"{username} is disabled")


@users_app.command("enable")
def users_enable(username: str, data_dir: DataDir = None) -> None:
    """Enable a disabled account again."""
    _admin(username, data_dir, "enable")
    typer.echo(f"{username} is enabled")


@users_app.command("unlock")
def users_unlock(username: str, data_dir: DataDir = None) -> None:
    """Lift a lockout after repeated failed sign-ins."""
    _admin(username, data_dir, "unlock")
    typer.echo(f"{username} is unlocked")


@users_app.command("reset-2fa")
def users_reset_2fa(username: str, data_dir: DataDir = None) -> None:
    """Forget a user's authenticator; they enrol a new one at their next sign-in."""
    _admin(username, data_dir, "reset-2fa")
    typer.echo(f"{username} enrols a new authenticator at the next sign-in")


@users_app.command("disable-idle")
def users_disable_idle(data_dir: DataDir = None) -> None:
    """Disable every account idle past the profile's limit (run daily from cron or a timer)."""
    from platekeeper.services import access
    from platekeeper.store.db import transaction

    system = open_system(data_dir)
    with transaction(system.sessions) as session:
        disabled = access.disable_idle(session, system.profile, cli_actor())
    typer.echo(f"disabled {len(disabled)} idle account(s){': ' + ', '.join(disabled) if disabled else ''}")


@users_app.command("list")
def users_list(data_dir: DataDir = None) -> None:
    """The access review: who holds which role, their status and training, and when they last used the system."""
    from platekeeper.services import access, audit
    from platekeeper.store.db import transaction

    system = open_system(data_dir)
    with transaction(system.sessions) as session:
        rows = access.access_review(session, system.profile)
        audit.record(session, audit.Event("access_review.view", cli_actor(), details={"accounts": len(rows)}))
    for row in rows:
        last = row.last_seen_at.date().isoformat() if row.last_seen_at else "never"
        typer.echo(f"{row.username:<20} {row.role:<18} {row.status:<20} last used {last:<10} training {row.training}")


@roles_app.command("show")
def roles_show(data_dir: DataDir = None) -> None:
    """Each role's effective permissions (the profile's, with administrators' changes)."""
    from platekeeper.services import access

    system = open_system(data_dir)
    with system.sessions() as session:
        matrix = access.permission_matrix(session, system.profile)
    for role, perms in matrix.items():
        typer.echo(f"{role:<20} {', '.join(sorted(perms)) or '(none)'}")


@roles_app.command("set")
def roles_set(
    role: str,
    permission: str,
    granted: Annotated[bool, typer.Option("--grant/--remove", help="Grant or remove the permission.")],
    data_dir: DataDir = None,
) -> None:
    """Grant a permission to a role, or remove it (ACC-5); police data stays with law-enforcement roles."""
    from platekeeper.services import access
    from platekeeper.store.db import transaction

    system = open_system(data_dir)
    try:
        with transaction(system.sessions) as session:
            access.set_grant(session, system.profile, cli_actor(), role, permission, granted)
    except access.AccessError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"{role}: {'granted' if granted else 'removed'} {permission}")


@keys_app.command("issue")
def keys_issue(
    label: Annotated[str, typer.Option(help="Which unit holds it, e.g. 'patrol car 12'.")],
    scope: Annotated[list[str], typer.Option(help="reads.ingest (needs --camera) or hotlists.sync; repeat.")],
    camera: Annotated[str | None, typer.Option(help="The camera the key delivers reads for.")] = None,
    days: Annotated[int | None, typer.Option(help="Expire after this many days.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Issue a scoped API key for a camera or edge unit; printed once, stored as a hash."""
    from platekeeper.services import api_keys
    from platekeeper.services.cameras import CameraError, get_camera
    from platekeeper.store.db import transaction
    from platekeeper.store.models import utcnow

    system = open_system(data_dir)
    try:
        with transaction(system.sessions) as session:
            cam = get_camera(session, camera) if camera else None
            expires = utcnow() + dt.timedelta(days=days) if days else None
            _, text = api_keys.issue(session, cli_actor(), label=label, scopes=scope, camera=cam, expires_at=expires)
    except (api_keys.ApiKeyError, CameraError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(text)
    typer.secho("Store this key in the unit now: it is not shown again.", err=True, fg=typer.colors.YELLOW)


@keys_app.command("revoke")
def keys_revoke(
    prefix: str, reason: Annotated[str, typer.Option(help="Why (recorded).")] = "", data_dir: DataDir = None
) -> None:
    """Revoke an API key by its prefix (the 8 characters after pkc_); it stops working at once."""
    from platekeeper.services import api_keys
    from platekeeper.store.db import transaction

    system = open_system(data_dir)
    try:
        with transaction(system.sessions) as session:
            api_keys.revoke(session, cli_actor(), prefix, reason)
    except api_keys.ApiKeyError as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"revoked {prefix}")


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """API keys with scopes, holder, state and last use (never the keys themselves)."""
    from platekeeper.services import api_keys

    system = open_system(data_dir)
    with system.sessions() as session:
        for key in api_keys.list_keys(session):
            state = "revoked" if key.revoked_at else ("usable" if key.usable else "expired")
            used = key.last_used_at.isoformat(timespec="minutes") if key.last_used_at else "never"
            typer.echo(f"pkc_{key.prefix}  {state:<8} {','.join(key.scopes):<28} last used {used:<17} {key.label}")


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
                f"masks={len(cam.privacy_masks)} {where}  {cam.name}"
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
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes sharing the database (about one per core). Live alerts reach the pages of "
            "every worker; the background duties (scheduled hot-list syncs, reviews) run in one of them.",
        ),
    ] = 1,
    data_dir: DataDir = None,
) -> None:
    """Serve the web UI and API."""
    import os

    import uvicorn

    from platekeeper.web.app import create_app

    system = open_system(data_dir)  # settings, profile and schema are checked here, once, before any worker
    if workers == 1:
        app_ = create_app(system.settings, system=system)
        uvicorn.run(app_, host=host, port=port, log_level="info", access_log=False)
        return
    system.close()
    os.environ["PLATEKEEPER_DATA_DIR"] = str(system.settings.data_dir)  # each worker builds its own from these
    uvicorn.run(
        "platekeeper.web.app:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
    )


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


@audit_app.command("export-sample")
def audit_export_sample(
    sample_id: Annotated[int, typer.Argument(help="The audit sample's number, as shown on /audit/samples.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or pdf.")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Write an audit sample's report (items, flags, findings, sign-off, chain status); the export is audited."""
    from platekeeper.services import audit_reports
    from platekeeper.services.audit import verify
    from platekeeper.services.audit_review import AuditReviewError
    from platekeeper.store.db import transaction

    system = open_system(data_dir)
    chain = verify(system.sessions)
    try:
        with transaction(system.sessions) as session:
            data = audit_reports.export_sample(session, system.profile, cli_actor(), sample_id, fmt, chain)
    except AuditReviewError as exc:
        raise fail(exc.message) from exc
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        typer.echo(f"audit sample {sample_id} written to {output} ({fmt}, {len(data)} bytes)")


import platekeeper.cli_hotlists  # noqa: E402, F401  (issue 6: registers `platekeeper hotlists`)


def main() -> None:
    app()
