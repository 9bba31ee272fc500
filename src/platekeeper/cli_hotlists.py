"""``platekeeper hotlists``: lists, external syncs (for cron), alert channels, field accuracy (issue 6).

Registers itself on the main CLI when ``platekeeper.cli`` imports it; it reaches the CLI's helpers
at call time, so the two modules can import each other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from platekeeper import cli

hotlists_app = typer.Typer(help="Hot lists, external syncs, alert channels (HOT-1..6).", no_args_is_help=True)
cli.app.add_typer(hotlists_app, name="hotlists")  # type: ignore[has-type]  # mypy cannot follow the import cycle


def _mapping(text: str) -> dict[str, object]:
    source = Path(text).read_text() if Path(text).is_file() else text
    try:
        value = json.loads(source)
    except json.JSONDecodeError as exc:
        raise cli.fail(f"the mapping is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise cli.fail('the mapping must be a JSON object, e.g. {"columns": {"plate": "LIC"}}')
    return value


@hotlists_app.command("create")
def create(
    key: Annotated[str, typer.Argument(help="Short stable name, e.g. ncic-stolen.")],
    name: Annotated[str, typer.Option("--name", help="Shown to officers.")],
    kind: Annotated[str, typer.Option("--kind", help="department or external.")] = "department",
    category: Annotated[str, typer.Option(help="department, stolen_vehicle, ncic, clets or bolo.")] = "department",
    source: Annotated[str | None, typer.Option(help="External: https:// URL or absolute file path.")] = None,
    source_format: Annotated[str, typer.Option("--format", help="External: csv or fixed.")] = "csv",
    mapping: Annotated[str | None, typer.Option(help="External: column mapping, JSON or a JSON file.")] = None,
    every: Annotated[int | None, typer.Option(help="External: sync every N minutes.")] = None,
) -> None:
    """Create a hot list; an external one gets its source, mapping and schedule (synced on the next run)."""
    from platekeeper.services import hotlist_import, hotlists
    from platekeeper.store.db import transaction

    system = cli.open_system()
    try:
        with transaction(system.sessions) as session:
            hot_list = hotlists.create_list(session, cli.cli_actor(), key=key, name=name, kind=kind, category=category)
            if kind == "external":
                if not source or not mapping:
                    raise hotlist_import.SyncError("an external list needs --source and --mapping")
                hotlist_import.configure_external(
                    session, cli.cli_actor(), hot_list, source=source, source_format=source_format,
                    mapping=_mapping(mapping), interval_minutes=every,
                )  # fmt: skip
    except (ValueError, hotlist_import.SyncError) as exc:
        raise cli.fail(str(exc)) from exc
    typer.echo(f"created hot list {key}")


@hotlists_app.command("sync")
def sync(
    key: Annotated[str, typer.Argument(help="The external list.")],
    full: Annotated[bool, typer.Option("--full", help="Re-read and re-compare everything.")] = False,
) -> None:
    """Synchronise one external list now; exit 1 when it failed (the failure is recorded on the list)."""
    from platekeeper.services import hotlist_import

    system = cli.open_system()
    try:
        result = hotlist_import.sync(system, key, cli.cli_actor(), full=full)
    except (LookupError, hotlist_import.SyncError) as exc:
        raise cli.fail(str(exc)) from exc
    typer.echo(
        f"{key}: {result.outcome} ({result.mode}) rows={result.rows} added={result.added} "
        f"updated={result.updated} removed={result.removed} unreadable={result.rejected}"
    )
    if result.outcome == "failed":
        raise cli.fail(result.error or "sync failed")


@hotlists_app.command("run-due")
def run_due() -> None:
    """Due syncs, review reminders and expiries, and due alert deliveries: once (for cron or a timer)."""
    from platekeeper.services.hotlist_scheduler import run_due as run

    typer.echo(json.dumps(run(cli.open_system())))


@hotlists_app.command("list")
def list_lists() -> None:
    """Lists with their entry counts and last successful sync (HOT-4)."""
    from platekeeper.services import hotlists

    system = cli.open_system()
    with system.sessions() as session:
        counts = hotlists.counts(session)
        for hot_list in hotlists.lists(session):
            active = counts.get(hot_list.id, {}).get("active", 0)
            synced = hot_list.last_success_at.isoformat() if hot_list.last_success_at else "never"
            failing = f"  LAST SYNC FAILED: {hot_list.last_error}" if hot_list.last_error else ""
            typer.echo(f"{hot_list.key}\t{hot_list.kind}\t{active} active\tlast sync {synced}{failing}")


@hotlists_app.command("channel-add")
def channel_add(
    kind: Annotated[str, typer.Argument(help="mqtt or webhook.")],
    target: Annotated[str, typer.Argument(help="mqtt://host:port/topic or https://...")],
    secret: Annotated[str | None, typer.Option(help="Webhook: HMAC-SHA256 signing secret.")] = None,
) -> None:
    """Send every alert and disposition to an MQTT broker or a webhook, with retries."""
    from platekeeper.services.alert_delivery import add_channel
    from platekeeper.services.alert_senders import SendFailed

    try:
        add_channel(cli.open_system(), cli.cli_actor(), kind, target, secret)
    except SendFailed as exc:
        raise cli.fail(str(exc)) from exc
    typer.echo(f"alerts now go to {kind} {target}")


@hotlists_app.command("accuracy")
def accuracy() -> None:
    """Field accuracy (CAP-5): confirmed vs misread alerts per camera and overall, as JSON."""
    from platekeeper.services import alert_accuracy

    system = cli.open_system()
    with system.sessions() as session:
        report = alert_accuracy.report(session)
    rows = [*report.cameras, report.overall]
    data = [{"camera": t.camera, "confirmed": t.confirmed, "misread": t.misread, "unverified": t.unverified,
             "accuracy": t.accuracy} for t in rows]  # fmt: skip
    typer.echo(json.dumps(data, indent=2))
