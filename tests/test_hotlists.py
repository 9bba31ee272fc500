"""Hot lists and alerts at the service level, on SQLite and PostgreSQL (HOT-1..6, USE-4, CAP-5)."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from platekeeper.policy.hotlist_matching import HotListIndex, fold
from platekeeper.services import alerts, hotlist_import, hotlists
from platekeeper.services.hotlists import HotListRefused
from platekeeper.store.db import transaction
from platekeeper.store.hotlist_models import HotList, HotListEntry
from platekeeper.store.models import AuditEvent, utcnow
from platekeeper.system import System
from tests.conftest import ADMIN_ACTOR
from tests.hotlist_helpers import (
    active_entry,
    alerts_for,
    camera,
    department_list,
    entry_input,
    ingest_read,
    member,
)


def _audit_types(system: System) -> list[str]:
    with system.sessions() as session:
        return list(session.scalars(select(AuditEvent.event_type).order_by(AuditEvent.seq)))


@pytest.fixture
def people(system: System) -> tuple[hotlists.Member, hotlists.Member]:
    department_list(system)
    return member(system, "ofc.diaz", "officer"), member(system, "lt.rivera", "lieutenant", badge="1201")


# ---- entries: HOT-1, HOT-2, HOT-3, USE-4 --------------------------------------------------------------


@pytest.mark.req("HOT-1")
def test_entry_records_member_badge_assignment_cases_and_synopsis(system: System, people) -> None:  # type: ignore[no-untyped-def]
    author, _ = people
    entry = hotlists.enter_plate(system, author, "sjpd", entry_input("7abc-123"))
    assert (entry.plate, entry.status) == ("7ABC123", "pending")
    assert entry.entered_by_badge == "4711" and entry.entered_by_assignment == "Robbery Unit"
    assert entry.case_numbers == ["SJ-26-000211"] and "PC 211" in entry.reason
    assert "hotlist.entry_create" in _audit_types(system)


@pytest.mark.req("HOT-1")
def test_entry_without_badge_or_synopsis_is_refused_and_audited(system: System) -> None:
    department_list(system)
    nobadge = member(system, "ofc.nobadge", "officer", badge=None)
    with pytest.raises(HotListRefused, match="badge"):
        hotlists.enter_plate(system, nobadge, "sjpd", entry_input("7ABC123"))
    author = member(system, "ofc.ok", "officer")
    with pytest.raises(HotListRefused, match="synopsis"):
        hotlists.enter_plate(system, author, "sjpd", entry_input("7ABC123", synopsis="stolen"))
    with system.sessions() as session:
        assert session.scalar(select(HotListEntry.id)) is None
    assert _audit_types(system).count("hotlist.refused") == 2


@pytest.mark.req("HOT-2")
def test_self_approval_refused_and_lieutenant_approval_activates(system: System, people) -> None:  # type: ignore[no-untyped-def]
    author, lieutenant = people
    own = hotlists.enter_plate(system, lieutenant, "sjpd", entry_input("7ABC123"))
    with pytest.raises(HotListRefused, match="cannot approve"):
        hotlists.approve(system, lieutenant, own.id)
    other = hotlists.enter_plate(system, author, "sjpd", entry_input("8XYZ999"))
    with pytest.raises(HotListRefused, match="lieutenant"):
        hotlists.approve(system, author, other.id)  # an officer holds no hotlists.approve
    approved = hotlists.approve(system, lieutenant, other.id)
    assert approved.status == "active" and approved.approved_by_name == "Lt.Rivera"
    with system.sessions() as session:
        assert session.get(HotListEntry, own.id).status == "pending"  # type: ignore[union-attr]
    assert "hotlist.entry_approve" in _audit_types(system)


@pytest.mark.req("HOT-2")
def test_unapproved_entry_never_alerts(system: System, people) -> None:  # type: ignore[no-untyped-def]
    author, _ = people
    cam = camera(system)
    hotlists.enter_plate(system, author, "sjpd", entry_input("7ABC123"))
    result = ingest_read(system, cam, "7ABC123")
    assert alerts_for(system, result.created[0].uid) == []


@pytest.mark.req("HOT-3")
def test_expired_entry_is_silent_and_sweep_records_removal(system: System, people) -> None:  # type: ignore[no-untyped-def]
    author, lieutenant = people
    cam = camera(system)
    entry = active_entry(system, author, lieutenant, "7ABC123")
    with transaction(system.sessions) as session:  # time passes: the entry's expiry is behind us
        session.get(HotListEntry, entry.id).expires_at = utcnow() - dt.timedelta(minutes=1)  # type: ignore[union-attr]
    result = ingest_read(system, cam, "7ABC123")
    assert alerts_for(system, result.created[0].uid) == []
    swept = hotlists.sweep(system)
    assert swept.expired == [entry.id]
    with system.sessions() as session:
        row = session.get(HotListEntry, entry.id)
        assert row is not None and row.status == "removed" and row.removal_reason.startswith("expired")  # type: ignore[union-attr]


@pytest.mark.req("HOT-3")
def test_owner_reminded_before_expiry_and_removal_recorded(system: System, people) -> None:  # type: ignore[no-untyped-def]
    author, lieutenant = people
    soon = utcnow() + dt.timedelta(days=2)
    entry = active_entry(system, author, lieutenant, "7ABC123", expires_at=soon, review_on=soon.date())
    assert hotlists.sweep(system).reminded == [entry.id]
    assert hotlists.sweep(system).reminded == []  # once, not every run
    with pytest.raises(HotListRefused, match="why"):
        hotlists.remove(system, author.actor, entry.id, "  ")
    removed = hotlists.remove(system, author.actor, entry.id, "vehicle recovered")
    assert removed.status == "removed" and removed.removed_by == "ofc.diaz"
    types = _audit_types(system)
    assert "hotlist.entry_reminder" in types and "hotlist.entry_remove" in types


@pytest.mark.req("USE-4")
def test_partial_plate_only_for_major_crimes_and_alerts(system: System, people) -> None:  # type: ignore[no-untyped-def]
    author, lieutenant = people
    cam = camera(system)
    with pytest.raises(HotListRefused, match="major crimes"):
        hotlists.enter_plate(system, author, "sjpd", entry_input("7AB?12?", major_crime=False))
    with pytest.raises(HotListRefused, match="known characters"):
        hotlists.enter_plate(system, author, "sjpd", entry_input("*1?", major_crime=True))
    entry = active_entry(system, author, lieutenant, "7AB?12?")
    found = alerts_for(system, ingest_read(system, cam, "7ABC123").created[0].uid)
    assert [(a.entry_id, a.match_type) for a in found] == [(entry.id, "wildcard")]
    assert alerts_for(system, ingest_read(system, cam, "7ABC1234").created[0].uid) == []


# ---- matching ----------------------------------------------------------------------------------------------


@pytest.mark.req("HOT-4")
def test_exact_confusable_and_candidate_only_matches_alert(system: System, people) -> None:  # type: ignore[no-untyped-def]
    author, lieutenant = people
    cam = camera(system)
    exact = active_entry(system, author, lieutenant, "7ABC123")
    confusable = active_entry(system, author, lieutenant, "6SAM0LD")
    candidate = active_entry(system, author, lieutenant, "4XYZ789")
    [a] = alerts_for(system, ingest_read(system, cam, "7ABC123").created[0].uid)
    assert (a.entry_id, a.match_type, a.matched_on) == (exact.id, "exact", "read")
    [b] = alerts_for(system, ingest_read(system, cam, "6SAMOLD").created[0].uid)  # O for 0
    assert (b.entry_id, b.match_type) == (confusable.id, "confusable")
    [c] = alerts_for(system, ingest_read(system, cam, "4XYZ788", candidates=("4XYZ789",)).created[0].uid)
    assert (c.entry_id, c.match_type, c.matched_on, c.matched_plate) == (candidate.id, "exact", "candidate", "4XYZ789")
    assert alerts_for(system, ingest_read(system, cam, "5QQQ555").created[0].uid) == []


def test_index_follows_removal_in_the_same_process(system: System, people) -> None:  # type: ignore[no-untyped-def]
    author, lieutenant = people
    cam = camera(system)
    entry = active_entry(system, author, lieutenant, "7ABC123")
    assert alerts_for(system, ingest_read(system, cam, "7ABC123").created[0].uid)
    hotlists.remove(system, lieutenant.actor, entry.id, "cleared")
    assert alerts_for(system, ingest_read(system, cam, "7ABC123").created[0].uid) == []


def test_index_unit_rules() -> None:
    index = HotListIndex()
    index.put(1, "7ABC123")
    index.put(2, "7ABC?23")
    index.put(3, "*C12*")
    index.put(4, "7ABC123")
    hits = {(h.entry_id, h.match_type) for h in index.match_read("7A8C123")}
    assert hits == {(1, "confusable"), (2, "wildcard"), (3, "wildcard"), (4, "confusable")}
    index.discard(1)
    index.discard(3)
    assert {h.entry_id for h in index.match_read("7ABC123")} == {2, 4}
    assert fold("SOLID") == fold("50L1D")


# ---- external lists: HOT-4 -----------------------------------------------------------------------------


CSV_V1 = (
    "NIC,LIC,ST,OFFENSE\nV1,1STOLEN,CA,Stolen vehicle\nV2,2STOLEN,CA,Stolen vehicle\nV3,3STOLEN,NV,Felony vehicle\n"
)
CSV_V2 = "NIC,LIC,ST,OFFENSE\nV1,1STOLEN,CA,Stolen vehicle\nV3,3STOLEN,NV,Armed and dangerous\nV4,4STOLEN,CA,Stolen\n"
MAPPING = {"columns": {"ref": "NIC", "plate": "LIC", "state": "ST", "reason": "OFFENSE"}}


def _external(system: System, source: str, source_format: str = "csv", mapping: dict | None = None) -> None:  # type: ignore[type-arg]
    with transaction(system.sessions) as session:
        hot_list = hotlists.create_list(
            session, ADMIN_ACTOR, key="ncic", name="NCIC stolen vehicles", kind="external", category="ncic"
        )
        hotlist_import.configure_external(
            session,
            ADMIN_ACTOR,
            hot_list,
            source=source,
            source_format=source_format,
            mapping=mapping or MAPPING,
            interval_minutes=15,
        )


def _active_plates(system: System) -> dict[str, str]:
    with system.sessions() as session:
        rows = session.execute(
            select(HotListEntry.plate, HotListEntry.reason).where(HotListEntry.status == "active")
        ).all()
    return dict(rows)  # type: ignore[arg-type]


class _Source(http.server.BaseHTTPRequestHandler):
    """A stand-in for the state's extract server (outside the system): serves ``body`` or fails."""

    body = CSV_V1
    fail = False

    def do_GET(self) -> None:
        if type(self).fail:
            self.send_response(503)
            self.end_headers()
            return
        data = type(self).body.encode()
        self.send_response(200)
        self.send_header("content-type", "text/csv")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def source_server() -> Iterator[str]:
    _Source.body, _Source.fail = CSV_V1, False
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Source)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/extract.csv"
    server.shutdown()


@pytest.mark.req("HOT-4")
def test_failed_sync_is_visible_then_next_sync_resynchronises_fully(system: System, source_server: str) -> None:
    _external(system, source_server)
    first = hotlist_import.sync(system, "ncic")
    assert (first.mode, first.outcome, first.added) == ("full", "ok", 3)
    again = hotlist_import.sync(system, "ncic")
    assert (again.mode, again.outcome) == ("incremental", "unchanged")
    _Source.fail = True  # connection lost
    failed = hotlist_import.sync(system, "ncic")
    assert failed.outcome == "failed" and "503" in (failed.error or "")
    with system.sessions() as session:
        listed = session.scalars(select(HotList).where(HotList.key == "ncic")).one()
        assert listed.needs_full_resync and listed.last_error and listed.last_success_at == again.finished_at
    _Source.fail, _Source.body = False, CSV_V2  # back, and the list changed meanwhile
    resync = hotlist_import.sync(system, "ncic")
    assert (resync.mode, resync.outcome) == ("full", "ok")
    assert (resync.added, resync.updated, resync.removed) == (1, 1, 1)
    assert _active_plates(system) == {
        "1STOLEN": "Stolen vehicle",
        "3STOLEN": "Armed and dangerous",
        "4STOLEN": "Stolen",
    }
    assert {"hotlist.sync", "hotlist.sync_failed"} <= set(_audit_types(system))


@pytest.mark.req("HOT-4")
def test_fixed_width_file_import_and_alert(system: System, tmp_path: Path) -> None:
    extract = tmp_path / "bolo.txt"
    extract.write_text("5BOLO12 CA BOLO: hit and run suspect\nbad!    CA unreadable\n")
    mapping = {"columns": {"plate": [0, 7], "state": [8, 10], "reason": [11, 60]}}
    _external(system, str(extract), "fixed", mapping)
    result = hotlist_import.sync(system, "ncic")
    assert (result.added, result.rejected) == (1, 1)
    cam = camera(system)
    [alert] = alerts_for(system, ingest_read(system, cam, "5BOLO12").created[0].uid)
    assert alert.entry_reason == "BOLO: hit and run suspect"


@pytest.mark.req("HOT-4")
def test_scheduled_sync_runs_when_due(system: System, tmp_path: Path) -> None:
    extract = tmp_path / "list.csv"
    extract.write_text(CSV_V1)
    _external(system, str(extract))
    assert [s.outcome for s in hotlist_import.sync_due(system)] == ["ok"]
    assert hotlist_import.sync_due(system) == []  # next one in 15 minutes
    later = utcnow() + dt.timedelta(minutes=16)
    assert [s.outcome for s in hotlist_import.sync_due(system, later)] == ["unchanged"]


# ---- verification and disposition: HOT-5, HOT-6, CAP-5 ----------------------------------------------------


@pytest.fixture
def alert_uid(system: System, people) -> str:  # type: ignore[no-untyped-def]
    author, lieutenant = people
    active_entry(system, author, lieutenant, "7ABC123")
    [alert] = alerts_for(system, ingest_read(system, camera(system), "7ABC123").created[0].uid)
    return alert.uid


@pytest.mark.req("HOT-5")
def test_action_before_verification_refused(system: System, people, alert_uid: str) -> None:  # type: ignore[no-untyped-def]
    officer, _ = people
    with pytest.raises(alerts.AlertRefused, match="confirm visually"):
        alerts.dispose(system, officer.actor, alert_uid, disposition="arrested", action_taken="stopped", note=None)
    alerts.verify(system, officer.actor, alert_uid, plate_confirmed=True)
    with pytest.raises(alerts.AlertRefused, match="CLETS"):
        alerts.dispose(
            system, officer.actor, alert_uid, disposition="stopped", action_taken="vehicle stopped", note=None
        )
    alerts.verify(system, officer.actor, alert_uid, clets_result="valid")
    done = alerts.dispose(
        system, officer.actor, alert_uid, disposition="arrested", action_taken="stopped", note="driver arrested for 211"
    )
    assert done.status == "closed" and done.clets_result == "valid" and done.disposed_by == "ofc.diaz"
    types = _audit_types(system)
    assert "alert.refused" in types and types.count("alert.verify") == 2 and "alert.dispose" in types


@pytest.mark.req("HOT-5")
def test_wanted_person_needs_occupant_comparison(system: System, people) -> None:  # type: ignore[no-untyped-def]
    author, lieutenant = people
    active_entry(system, author, lieutenant, "8WANTED", alert_type="wanted_person", person_description="male, 30s")
    [alert] = alerts_for(system, ingest_read(system, camera(system), "8WANTED").created[0].uid)
    alerts.verify(system, author.actor, alert.uid, plate_confirmed=True, clets_result="valid")
    with pytest.raises(alerts.AlertRefused, match="occupants"):
        alerts.dispose(system, author.actor, alert.uid, disposition="stopped", action_taken="stopped", note=None)
    alerts.verify(system, author.actor, alert.uid, occupants_match=True)
    assert alerts.dispose(system, author.actor, alert.uid, disposition="stopped", action_taken="stopped", note=None)


@pytest.mark.req("HOT-6")
def test_administrator_notified_of_hit_and_disposition(system: System, people, alert_uid: str) -> None:  # type: ignore[no-untyped-def]
    from platekeeper.services import alert_delivery

    admin = member(system, "admin.ada", "admin")
    officer, _ = people
    # The admin was created after the hit: a second hit and its disposition reach them.
    [alert] = alerts_for(system, ingest_read(system, "cam-1", "7ABC123").created[0].uid)
    alerts.verify(system, officer.actor, alert.uid, plate_confirmed=False)
    alerts.dispose(system, officer.actor, alert.uid, disposition="misread", action_taken=None, note="was 7A8C123")
    with system.sessions() as session:
        events = [(n.event, n.alert.uid) for n in alert_delivery.notifications(session, admin.user_id)]
    assert events == [("disposition", alert.uid), ("hit", alert.uid)]


@pytest.mark.req("CAP-5")
def test_accuracy_from_field_confirmations(system: System, people, alert_uid: str) -> None:  # type: ignore[no-untyped-def]
    from platekeeper.services import alert_accuracy

    officer, _ = people
    alerts.verify(system, officer.actor, alert_uid, plate_confirmed=True, clets_result="valid")
    with pytest.raises(alerts.AlertRefused, match="misread"):  # a confirmed plate is no misread
        alerts.dispose(system, officer.actor, alert_uid, disposition="misread", action_taken=None, note=None)
    alerts.dispose(system, officer.actor, alert_uid, disposition="not_located", action_taken=None, note=None)
    [second] = alerts_for(system, ingest_read(system, "cam-1", "7ABC123").created[0].uid)
    alerts.verify(system, officer.actor, second.uid, plate_confirmed=False)
    alerts.dispose(system, officer.actor, second.uid, disposition="misread", action_taken=None, note=None)
    with system.sessions() as session:
        report = alert_accuracy.report(session)
    assert (report.overall.confirmed, report.overall.misread, report.overall.unverified) == (1, 1, 0)
    assert report.overall.accuracy == pytest.approx(0.5)
    assert [row.camera for row in report.cameras] == ["cam-1"]


@pytest.mark.req("HOT-4")
def test_cli_creates_syncs_and_lists_an_external_list(
    system: System, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from platekeeper.cli import app

    extract = tmp_path / "ncic.csv"
    extract.write_text(CSV_V1)
    monkeypatch.setenv("PLATEKEEPER_DATABASE_URL", system.settings.resolved_database_url)
    monkeypatch.setenv("PLATEKEEPER_MASTER_KEY", system.settings.master_key.get_secret_value())  # type: ignore[union-attr]
    runner = CliRunner()
    base = ["--data-dir", str(system.settings.data_dir), "hotlists"]
    mapping = json.dumps(MAPPING)
    created = runner.invoke(
        app, [*base, "create", "ncic", "--name", "NCIC", "--kind", "external", "--category", "ncic",
              "--source", str(extract), "--mapping", mapping, "--every", "15"],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    synced = runner.invoke(app, [*base, "sync", "ncic"])
    assert synced.exit_code == 0 and "added=3" in synced.output, synced.output
    extract.unlink()
    failed = runner.invoke(app, [*base, "sync", "ncic"])
    assert failed.exit_code == 1
    listed = runner.invoke(app, [*base, "list"])
    assert "3 active" in listed.output and "LAST SYNC FAILED" in listed.output


def test_wildcard_index_agrees_with_brute_force() -> None:
    """The anchored buckets find exactly what checking every pattern would find."""
    import random
    import re

    rng = random.Random(5)
    alphabet = "0123456789ABCDEFGHJKMNPRSTUVWXYZ"
    plates = ["".join(rng.choices(alphabet, k=rng.choice((6, 7)))) for _ in range(400)]
    index = HotListIndex()
    patterns: dict[int, str] = {}
    for n, plate in enumerate(plates[:200]):
        chars = list(plate)
        for i in rng.sample(range(len(chars)), 2):
            chars[i] = "?"
        pattern = "".join(chars) if n % 3 else (plate[:4] + "*" if n % 2 else "*" + plate[-4:])
        patterns[n] = pattern
        index.put(n, pattern)
    for text in plates:
        folded = fold(text)
        expected = {
            n for n, p in patterns.items() if re.fullmatch(fold(p).replace("?", ".").replace("*", ".*"), folded)
        }
        assert index.wildcards.match(folded) == expected, text


@pytest.mark.req("USE-1", "HOT-1")
def test_entry_with_prohibited_purpose_is_refused(system: System, people) -> None:  # type: ignore[no-untyped-def]
    from platekeeper.policy.purposes import PurposeStatement
    from platekeeper.services.purposes import PurposeRefused

    author, _ = people
    screened = PurposeStatement("criminal_investigation", "SJ-26-1", None, "watch the protest organisers")
    with pytest.raises(PurposeRefused):
        hotlists.enter_plate(system, author, "sjpd", entry_input("7ABC123", purpose=screened))
    with system.sessions() as session:
        assert session.scalar(select(HotListEntry.id)) is None
    assert "purpose.refused" in _audit_types(system)


@pytest.mark.req("HOT-5")
@pytest.mark.parametrize(
    ("disposition", "confirmed", "clets", "allowed"),
    [
        ("arrested", True, True, True),
        ("arrested", True, False, False),
        ("stopped", None, True, False),
        ("misread", False, False, True),
        ("misread", True, True, False),
        ("not_located", None, False, True),
        ("no_action", True, False, False),
        ("no_action", None, True, True),
    ],
)
def test_disposition_prerequisites(disposition: str, confirmed: bool | None, clets: bool, allowed: bool) -> None:
    from platekeeper.policy import hotlist_rules as rules

    state = rules.VerificationState(confirmed, clets, "valid" if clets else None, None, wanted_person=False)
    if allowed:
        rules.check_disposition(disposition, state)
    else:
        with pytest.raises(rules.RuleBroken):
            rules.check_disposition(disposition, state)
