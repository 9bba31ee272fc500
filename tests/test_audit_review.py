"""Audit review (AUD-1..3): the audit log, random samples, findings, sign-off, reports, and their pages."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zlib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from platekeeper.policy import audit_flags
from platekeeper.policy.audit_flags import AccessFacts
from platekeeper.policy.profile import AuditReview
from platekeeper.services import audit, audit_reports, audit_review
from platekeeper.services.audit_review import AuditReviewError, LogFilter
from platekeeper.store.db import transaction
from platekeeper.store.models import AuditEvent, AuditSample, utcnow
from platekeeper.system import System
from platekeeper.web import audit_pages
from platekeeper.web.security import declared_routes
from tests.helpers import client_for, login, make_user

LA = ZoneInfo("America/Los_Angeles")
PURPOSE = {"purpose": "criminal_investigation", "case_number": "SJ-26-1", "no_case_reason": None, "presumed_crime": "x"}
OFFICER = audit.Actor(type="user", id="101", name="officer.lee", role="officer", agency="SJPD", unit="Patrol")
ANALYST = audit.Actor(type="user", id="102", name="analyst.kim", role="analyst", agency="SJPD", unit="Crime Analysis")
AUDITOR = audit.Actor(type="user", id="201", name="auditor.ray", role="auditor", agency="City Auditor", unit="Audit")
AUDITOR_2 = audit.Actor(type="user", id="202", name="auditor.sam", role="auditor", agency="City Auditor", unit="Audit")


def _facts(details: dict[str, object] | None = None, *, at: dt.datetime | None = None, outcome: str = "allowed",
           actor: str = "user:1", event_type: str = "read.view") -> AccessFacts:  # fmt: skip
    return AccessFacts(
        seq=1,
        event_type=event_type,
        occurred_at=at or dt.datetime(2026, 5, 1, 17, 0, tzinfo=dt.UTC),  # 10:00 in San José
        outcome=outcome,
        actor=actor,
        details=details or {},
    )


# ---- pure rules, table-driven ------------------------------------------------------------------------------
@pytest.mark.req("AUD-3")
@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("reads.list", True),
        ("read.view", True),
        ("image.view", True),
        ("purpose.refused", True),
        ("access.refused", True),
        ("search.plate", True),
        ("search.partial_plate", True),
        ("export.csv", True),
        ("evidence.package", True),
        ("share.request", True),
        ("hotlist.entry_create", True),
        ("alert.disposition", True),
        ("locations.view", True),
        ("auth.login", False),
        ("auth.login_failed", False),
        ("audit.view", False),
        ("audit.sample", False),
        ("camera.create", False),
        ("read.ingest", False),
        ("user.create", False),
        ("searching", False),
        ("hotlists", False),
    ],
)
def test_which_event_types_are_accesses(event_type: str, expected: bool) -> None:
    assert audit_flags.is_access(event_type) is expected
    assert audit_flags.is_access(event_type, "user") is expected
    assert audit_flags.is_access(event_type, "system") is False  # housekeeping, e.g. a hot-list sync


@pytest.mark.req("AUD-3")
@pytest.mark.parametrize(
    ("local", "start", "end", "expected"),
    [
        (dt.time(19, 0), dt.time(19, 0), dt.time(7, 0), True),  # start is inside
        (dt.time(23, 59), dt.time(19, 0), dt.time(7, 0), True),
        (dt.time(0, 0), dt.time(19, 0), dt.time(7, 0), True),  # wraps past midnight
        (dt.time(6, 59), dt.time(19, 0), dt.time(7, 0), True),
        (dt.time(7, 0), dt.time(19, 0), dt.time(7, 0), False),  # end is outside
        (dt.time(12, 0), dt.time(19, 0), dt.time(7, 0), False),
        (dt.time(18, 59), dt.time(19, 0), dt.time(7, 0), False),
        (dt.time(2, 0), dt.time(1, 0), dt.time(5, 0), True),  # a window within one day
        (dt.time(5, 0), dt.time(1, 0), dt.time(5, 0), False),
        (dt.time(0, 30), dt.time(1, 0), dt.time(5, 0), False),
        (dt.time(3, 0), dt.time(3, 0), dt.time(3, 0), False),  # start == end: no off-hours at all
    ],
)
def test_off_hours_window(local: dt.time, start: dt.time, end: dt.time, expected: bool) -> None:
    assert audit_flags.in_window(local, start, end) is expected


@pytest.mark.req("AUD-3")
@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (dt.datetime(2026, 1, 15, 2, 30, tzinfo=dt.UTC), False),  # 18:30 PST
        (dt.datetime(2026, 1, 15, 3, 30, tzinfo=dt.UTC), True),  # 19:30 PST
        (dt.datetime(2026, 1, 15, 20, 0, tzinfo=dt.UTC), False),  # 12:00 PST
        (dt.datetime(2026, 7, 15, 1, 30, tzinfo=dt.UTC), False),  # 18:30 PDT
        (dt.datetime(2026, 7, 15, 2, 30, tzinfo=dt.UTC), True),  # 19:30 PDT: the zone's DST offset counts
        (dt.datetime(2026, 7, 15, 13, 30, tzinfo=dt.UTC), True),  # 06:30 PDT
        (dt.datetime(2026, 7, 15, 14, 30, tzinfo=dt.UTC), False),  # 07:30 PDT
    ],
)
def test_off_hours_uses_the_agency_zone(utc: dt.datetime, expected: bool) -> None:
    assert audit_flags.is_off_hours(utc, LA, dt.time(19, 0), dt.time(7, 0)) is expected


@pytest.mark.req("AUD-3")
@pytest.mark.parametrize(
    ("details", "bulk", "wildcard"),
    [
        ({"result_count": 101}, True, False),
        ({"result_count": 100}, False, False),
        ({"result_count": True}, False, False),  # a bool is not a count
        ({"result_count": "500"}, False, False),
        ({}, False, False),
        ({"criteria": {"plate": "7AB*123"}}, False, True),
        ({"criteria": {"plate": "7AB?123"}, "result_count": 3}, False, True),
        ({"criteria": {"plates": ["7ABC123", "8X?Y"]}}, False, True),
        ({"plate": "7ABC1*"}, False, True),
        ({"criteria": {"plate": "7ABC123", "before_id": None}}, False, False),
        ({"plates": ["7ABC123"], "result_count": 1}, False, False),
    ],
)
def test_bulk_and_wildcard(details: dict[str, object], bulk: bool, wildcard: bool) -> None:
    assert audit_flags.is_bulk(details, 100) is bulk
    assert audit_flags.is_wildcard(details) is wildcard


@pytest.mark.req("AUD-3")
@pytest.mark.parametrize(
    ("details", "plates"),
    [
        ({"plate": "7abc123"}, {"7ABC123"}),
        ({"plates": ["7ABC123", "5XYZ789"]}, set()),  # shown in a list, not asked for
        ({"criteria": {"plate": "7ABC*"}}, {"7ABC*"}),
        ({"criteria": {"plates": ["1A", "2B"]}, "plate": None}, {"1A", "2B"}),
        ({"plate": ""}, set()),
    ],
)
def test_queried_plates(details: dict[str, object], plates: set[str]) -> None:
    assert audit_flags.queried_plates(details) == plates


@pytest.mark.req("AUD-3")
def test_flags_for_combine_in_a_fixed_order() -> None:
    rules = AuditReview(bulk_result_threshold=10, repeated_plate_threshold=3)
    night = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)  # 02:00 PDT
    facts = _facts({"criteria": {"plate": "7AB*"}, "result_count": 50}, at=night, outcome="refused")
    counts = audit_flags.plate_counts([facts, facts, facts])
    assert audit_flags.flags_for(facts, rules, LA, counts) == ["bulk", "wildcard", "off_hours", "repeated_plate",
                                                                 "refused"]  # fmt: skip
    two = audit_flags.plate_counts([facts, facts])
    assert audit_flags.flags_for(_facts({"plate": "7ABC123"}), rules, LA, two) == []
    other_user = _facts({"criteria": {"plate": "7AB*"}}, actor="user:2")
    assert "repeated_plate" not in audit_flags.flags_for(other_user, rules, LA, counts)


@pytest.mark.req("AUD-3")
def test_the_draw_is_deterministic_documented_and_seed_dependent() -> None:
    seqs = list(range(1, 501))
    first = audit_flags.draw(seqs, "seed-a", 20)
    assert first == audit_flags.draw(reversed(seqs), "seed-a", 20) and len(first) == 20 and first == sorted(first)
    assert first != audit_flags.draw(seqs, "seed-b", 20)
    # The documented rule, recomputed by hand: the smallest SHA-256("seed:seq") keys.
    import hashlib

    by_hand = sorted(sorted(seqs, key=lambda s: hashlib.sha256(f"seed-a:{s}".encode()).hexdigest())[:20])
    assert first == by_hand
    # Events added later do not move the earlier ones: a larger population keeps the same ranking.
    assert audit_flags.draw(range(1, 11), "s", 50) == list(range(1, 11))
    assert audit_flags.draw([], "s", 5) == []


@pytest.mark.req("AUD-3")
@pytest.mark.parametrize(
    ("text", "expected"),
    [("plain", "plain"), ("José", "José"), ("“quoted” — dash…", '"quoted" - dash...'), ("Łódź", "?ódz"),
     ("車牌", "??"), ("emoji 🚓", "emoji ?")],
)  # fmt: skip
def test_pdf_text_never_crashes_on_unicode(text: str, expected: str) -> None:
    assert audit_reports.latin1(text) == expected


# ---- the service on real databases -------------------------------------------------------------------------
def _access(
    system: System, actor: audit.Actor, event_type: str = "read.view", outcome: str = "allowed", **details: object
) -> int:
    with transaction(system.sessions) as session:
        row = audit.record(session, audit.Event(event_type, actor, outcome=outcome, details={**PURPOSE, **details}))
        return row.seq


def _period() -> tuple[dt.datetime, dt.datetime]:
    now = utcnow()
    return now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)


def _fill(system: System) -> dict[str, list[int]]:
    """Accesses by two users among events that are not accesses."""
    seqs: dict[str, list[int]] = {"access": [], "other": []}
    for i in range(30):
        actor = OFFICER if i % 2 else ANALYST
        seqs["access"].append(_access(system, actor, plate=f"7ABC{i % 5:03d}", result_count=1))
        with transaction(system.sessions) as session:
            seqs["other"].append(audit.record(session, audit.Event("auth.login", actor)).seq)
    seqs["access"].append(_access(system, OFFICER, "reads.list", plates=["1AAA111"], result_count=500))
    seqs["access"].append(
        _access(system, ANALYST, "purpose.refused", "refused", criteria={"plate": "9Z*"}, refusal="prohibited")
    )
    return seqs


@pytest.mark.req("AUD-3")
def test_population_holds_accesses_only_and_the_draw_reproduces(system: System) -> None:
    seqs = _fill(system)
    start, end = _period()
    sample = audit_review.draw_sample(system.sessions, system.profile, AUDITOR, start, end, 10, "fixed-seed")
    assert sample.population == len(seqs["access"])
    drawn = [i.audit_seq for i in sample.items]
    assert len(drawn) == 10 and set(drawn) <= set(seqs["access"]) and not set(drawn) & set(seqs["other"])
    assert drawn == audit_flags.draw(seqs["access"], "fixed-seed", 10)

    _access(system, OFFICER, plate="8NEW000")  # the trail grows after the draw
    again = audit_review.draw_sample(
        system.sessions, system.profile, AUDITOR, start, end, 10, "fixed-seed", up_to_seq=sample.last_seq
    )
    assert [i.audit_seq for i in again.items] == drawn and again.population == sample.population
    other = audit_review.draw_sample(system.sessions, system.profile, AUDITOR, start, end, 10, "other-seed")
    assert [i.audit_seq for i in other.items] != drawn
    with system.sessions() as session:
        stored = session.get(AuditSample, sample.id)
        assert stored is not None and audit_review.redraw(session, stored) == drawn
        drawn_event = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "audit.sample")).first()
        assert drawn_event is not None and drawn_event.details["items"] == drawn
        assert drawn_event.details["seed"] == "fixed-seed"


@pytest.mark.req("AUD-3")
def test_a_fresh_seed_is_random_and_everything_small_is_drawn(system: System) -> None:
    seqs = _fill(system)
    start, end = _period()
    # The events carry the time the test runs; an empty off-hours window keeps the flags independent of it.
    review = system.profile.audit_review.model_copy(update={"off_hours_start": dt.time(0), "off_hours_end": dt.time(0)})
    profile = system.profile.model_copy(update={"audit_review": review})
    a = audit_review.draw_sample(system.sessions, profile, AUDITOR, start, end, 1000)
    assert len(a.seed) == 32 and sorted(i.audit_seq for i in a.items) == seqs["access"]
    flags = {i.audit_seq: i.flags for i in a.items}
    assert flags[seqs["access"][-2]] == ["bulk"]  # 500 results, threshold 100; plates shown are not queries
    assert flags[seqs["access"][-1]] == ["wildcard", "refused"]
    assert "repeated_plate" in flags[seqs["access"][0]]  # analyst opened 7ABC000 three times


@pytest.mark.req("AUD-3")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"size": 0}, "between 1 and"),
        ({"size": 1001}, "between 1 and"),
        ({"seed": "has spaces"}, "seed"),
        ({"swap": True}, "end after it starts"),
        ({"up_to_seq": 10**9}, "chain tip"),
    ],
)
def test_bad_draw_requests_are_refused_and_audited(system: System, change: dict[str, object], message: str) -> None:
    start, end = _period()
    change = dict(change)  # the parameter is shared between the SQLite and PostgreSQL runs
    if change.pop("swap", False):
        start, end = end, start
    kwargs: dict[str, object] = {"size": 5, "seed": None, **change}
    with pytest.raises(AuditReviewError, match=message):
        audit_review.draw_sample(
            system.sessions, system.profile, AUDITOR, start, end, kwargs["size"], kwargs["seed"],  # type: ignore[arg-type]
            up_to_seq=kwargs.get("up_to_seq"),  # type: ignore[arg-type]
        )  # fmt: skip
    with system.sessions() as session:
        refused = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "audit.sample")).all()
        assert [e.outcome for e in refused] == ["refused"] and message in refused[0].details["reason"]
        assert session.scalars(select(AuditSample)).all() == []


def _sample_with_own_access(system: System) -> tuple[AuditSample, int, int]:
    own = _access(system, AUDITOR, plate="3OWN333", result_count=1)  # the auditor looked at data too
    theirs = _access(system, OFFICER, plate="7ABC123", result_count=1)
    start, end = _period()
    sample = audit_review.draw_sample(system.sessions, system.profile, AUDITOR_2, start, end, 10, "s")
    assert sorted(i.audit_seq for i in sample.items) == [own, theirs]
    return sample, own, theirs


@pytest.mark.req("AUD-3")
def test_an_auditor_may_not_assess_their_own_access(system: System) -> None:
    sample, own, theirs = _sample_with_own_access(system)
    with pytest.raises(AuditReviewError, match="independence") as refused:
        audit_review.record_finding(system.sessions, AUDITOR, sample.id, own, "compliant", "")
    assert refused.value.status == 403
    with system.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "access.refused")).one()
        assert event.outcome == "refused" and event.actor_name == "auditor.ray"
        assert event.target == f"audit_sample:{sample.id}/{own}"
        view = audit_review.load_sample(session, sample.id)
        assert all(i.assessment is None for i in view.sample.items)
    # Someone else may; the auditor may still assess accesses by others.
    audit_review.record_finding(system.sessions, AUDITOR_2, sample.id, own, "compliant", "")
    audit_review.record_finding(system.sessions, AUDITOR, sample.id, theirs, "concern", "Case number not on file")
    # ... but may not sign off a sample holding their own access.
    with pytest.raises(AuditReviewError, match="independence"):
        audit_review.sign_off(system.sessions, AUDITOR, sample.id, "All fine")


@pytest.mark.req("AUD-3")
def test_sign_off_needs_every_item_assessed_and_freezes_the_sample(system: System) -> None:
    sample, own, theirs = _sample_with_own_access(system)
    with pytest.raises(AuditReviewError, match="needs a written finding"):
        audit_review.record_finding(system.sessions, AUDITOR_2, sample.id, own, "violation", "  ")
    with pytest.raises(AuditReviewError, match="choose an assessment"):
        audit_review.record_finding(system.sessions, AUDITOR_2, sample.id, own, "fine", "x")
    audit_review.record_finding(system.sessions, AUDITOR_2, sample.id, own, "compliant")
    with pytest.raises(AuditReviewError, match="1 sampled access") as early:
        audit_review.sign_off(system.sessions, AUDITOR_2, sample.id, "Done")
    assert early.value.status == 409
    audit_review.record_finding(system.sessions, AUDITOR_2, sample.id, theirs, "violation", "No purpose on file")
    with pytest.raises(AuditReviewError, match="conclusion"):
        audit_review.sign_off(system.sessions, AUDITOR_2, sample.id, "")
    signed = audit_review.sign_off(system.sessions, AUDITOR_2, sample.id, "One violation referred to IA.")
    assert signed.signed_off_by == "auditor.sam" and signed.signed_off_at is not None

    with pytest.raises(AuditReviewError, match="signed off") as frozen:
        audit_review.record_finding(system.sessions, AUDITOR_2, sample.id, theirs, "compliant")
    assert frozen.value.status == 409
    with pytest.raises(AuditReviewError, match="already signed off"):
        audit_review.sign_off(system.sessions, AUDITOR_2, sample.id, "Again")
    with system.sessions() as session:
        view = audit_review.load_sample(session, sample.id)
        assert [i.assessment for i in view.sample.items] == ["compliant", "violation"]
        types = [e.event_type for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        outcomes = [
            (e.event_type, e.outcome)
            for e in session.scalars(select(AuditEvent).where(AuditEvent.event_type.like("audit.%")))
        ]
    assert types.count("audit.finding") == 5 and types.count("audit.signoff") == 4
    assert ("audit.signoff", "allowed") in outcomes and ("audit.finding", "refused") in outcomes
    assert audit.verify(system.sessions).ok


@pytest.mark.req("AUD-3", "AUD-2")
def test_reports_export_as_csv_and_pdf(system: System) -> None:
    sample, own, theirs = _sample_with_own_access(system)
    audit_review.record_finding(system.sessions, AUDITOR_2, sample.id, own, "compliant")
    audit_review.record_finding(system.sessions, AUDITOR_2, sample.id, theirs, "concern", '=HYPERLINK("x") Łódź 車')
    chain = audit.verify(system.sessions)
    with transaction(system.sessions) as session:
        data = audit_reports.export_sample(session, system.profile, AUDITOR_2, sample.id, "csv", chain)
    lines = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    header = dict(row for row in lines if len(row) == 2)
    assert header["Audit sample"] == str(sample.id) and header["Seed"] == "s"
    assert header["Audit chain"].startswith("intact")
    table = lines[lines.index(list(audit_reports.COLUMNS)) :]
    rows = [dict(zip(table[0], r, strict=True)) for r in table[1:]]
    assert [r["audit_seq"] for r in rows] == [str(own), str(theirs)]
    assert rows[1]["plates"] == "7ABC123" and rows[1]["assessment"] == "concern"
    assert rows[1]["finding"].startswith("'=HYPERLINK")  # no formula injection into a spreadsheet
    assert rows[1]["purpose"] == "criminal_investigation" and rows[1]["user"] == "officer.lee"

    with transaction(system.sessions) as session:
        pdf = audit_reports.export_sample(session, system.profile, AUDITOR_2, sample.id, "pdf", chain)
    assert pdf.startswith(b"%PDF")
    assert f"Audit sample {sample.id}".encode() in pdf  # the document title
    text = b"".join(zlib.decompress(m) for m in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S))
    assert b"7ABC123" in text and b"CONCERN" in text
    with system.sessions() as session:
        exports = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "audit.export")).all()
        assert [e.details["format"] for e in exports] == ["csv", "pdf"]


@pytest.mark.req("AUD-1")
def test_the_log_filters_pages_and_audits_each_look(system: System) -> None:
    seqs = _fill(system)
    with transaction(system.sessions) as session:
        page = audit_review.search_log(session, AUDITOR, LogFilter(user="OFFICER.LEE", plate="7abc001"), limit=2)
        expected = [seqs["access"][i] for i in (21, 11, 1)]  # odd i: the officer; i % 5 == 1: plate 7ABC001
        assert [e.seq for e in page.events] == expected[:2] and page.next_before == expected[1]
        rest = audit_review.search_log(
            session, AUDITOR, LogFilter(user="officer.lee", plate="7ABC001"), limit=2, before_seq=page.next_before
        )
        assert [e.seq for e in rest.events] == expected[2:] and rest.next_before is None
    with transaction(system.sessions) as session:
        refused = audit_review.search_log(session, AUDITOR, LogFilter(outcome="refused", access_only=True))
        assert [e.event_type for e in refused.events] == ["purpose.refused"]
        logins = audit_review.search_log(session, AUDITOR, LogFilter(event_type="auth.login"))
        assert len(logins.events) == 30
    with system.sessions() as session:
        views = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "audit.view")).all()
    assert len(views) == 4 and views[0].details["filters"] == {"user": "OFFICER.LEE", "plate": "7abc001"}
    with pytest.raises(AuditReviewError):
        LogFilter(outcome="maybe")


# ---- over HTTP -----------------------------------------------------------------------------------------------
def _csrf(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def _signed_in(system: System, username: str, role: str) -> TestClient:
    make_user(system, username, role)
    client = client_for(system)
    assert login(client, username) == 303
    return client


@pytest.mark.req("AUD-3", "ACC-4", "SEC-3")
def test_audit_routes_are_for_auditors(system: System) -> None:
    routes = declared_routes(audit_pages.router.routes)
    assert routes and all(rule is not None for _, _, rule in routes)
    anonymous = client_for(system)
    assert anonymous.get("/audit").status_code == 303
    assert anonymous.get("/audit/samples").headers["location"].startswith("/login")
    assert anonymous.get("/api/v1/audit/events").status_code == 401

    officer = _signed_in(system, "officer.lee", "officer")
    for path in ("/audit", "/audit/samples", "/audit/verify", "/audit/samples/1", "/audit/samples/1.csv"):
        assert officer.get(path).status_code == 403, path
    assert officer.get("/api/v1/audit/events").status_code == 403
    assert officer.post("/api/v1/audit/samples", json={}).status_code == 403

    admin = _signed_in(system, "admin.ada", "admin")  # audit.view only: the log, not the samples
    assert admin.get("/audit").status_code == 200
    assert admin.get("/audit/samples").status_code == 403

    auditor = _signed_in(system, "auditor.ray", "auditor")
    log = auditor.get("/audit")
    assert log.status_code == 200 and "officer.lee" in log.text and "access.refused" in log.text
    assert auditor.get("/audit?access_only=true&outcome=refused").status_code == 200
    assert auditor.get("/audit?start=not-a-day").status_code == 422
    verify = auditor.get("/audit/verify")
    assert verify.status_code == 200 and "The audit trail is intact" in verify.text
    assert auditor.get("/audit/samples").status_code == 200
    assert auditor.get("/audit/samples/999").status_code == 404


@pytest.mark.req("AUD-3")
def test_an_auditor_works_a_sample_through_the_forms_and_the_api(system: System) -> None:
    officer = _access(system, OFFICER, plate="7ABC123", result_count=1)
    auditor = _signed_in(system, "auditor.ray", "auditor")
    page = auditor.get("/audit/samples")
    token = _csrf(page.text)
    today = dt.datetime.now(system.profile.zone).date().isoformat()
    form = {"start": today, "end": today, "size": "5", "seed": "", "csrf": token}
    assert auditor.post("/audit/samples", data={**form, "csrf": "forged"}).status_code == 400
    drawn = auditor.post("/audit/samples", data=form)
    assert drawn.status_code == 303
    sample_url = drawn.headers["location"]
    sample_id = int(sample_url.rsplit("/", 1)[1])
    shown = auditor.get(sample_url)
    assert shown.status_code == 200 and "7ABC123" in shown.text and "Download CSV" in shown.text
    seqs = [int(s) for s in re.findall(r'id="item-(\d+)"', shown.text)]
    assert officer in seqs  # the auditor's own sign-in is not an access; the officer's view is

    for seq in seqs:
        saved = auditor.post(
            f"/audit/samples/{sample_id}/items/{seq}", data={"assessment": "compliant", "finding": "", "csrf": token}
        )
        assert saved.status_code == 303, saved.text
    assert (
        auditor.post(f"/audit/samples/{sample_id}/signoff", data={"conclusion": "", "csrf": token}).status_code == 422
    )
    signed = auditor.post(f"/audit/samples/{sample_id}/signoff", data={"conclusion": "All good.", "csrf": token})
    assert signed.status_code == 303
    final = auditor.get(sample_url)
    assert "Signed off by auditor.ray" in final.text and 'name="assessment"' not in final.text
    report = auditor.get(f"/audit/samples/{sample_id}.csv")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    assert "All good." in report.text
    pdf = auditor.get(f"/audit/samples/{sample_id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    api = auditor.get(f"/api/v1/audit/samples/{sample_id}").json()
    assert api["signed_off_by"] == "auditor.ray" and {i["assessment"] for i in api["items"]} == {"compliant"}
    late = auditor.post(
        f"/api/v1/audit/samples/{sample_id}/findings", json={"audit_seq": officer, "assessment": "violation"}
    )
    assert late.status_code == 409
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    body = {"period_start": start.isoformat(), "period_end": (start + dt.timedelta(hours=2)).isoformat(), "seed": "x"}
    assert auditor.post("/api/v1/audit/samples", data=body).status_code in {415, 422}  # no cross-site form posts
    created = auditor.post("/api/v1/audit/samples", json={**body, "size": 3})
    assert created.status_code == 201 and created.json()["seed"] == "x"
    again = auditor.post("/api/v1/audit/samples", json={**body, "size": 3, "up_to_seq": created.json()["last_seq"]})
    assert [i["audit_seq"] for i in again.json()["items"]] == [i["audit_seq"] for i in created.json()["items"]]
    events = auditor.get("/api/v1/audit/events", params={"event_type": "audit.signoff", "outcome": "allowed"}).json()
    assert [e["target"] for e in events["events"]] == [f"audit_sample:{sample_id}"]
    assert auditor.get("/api/v1/audit/verify").json()["ok"] is True


@pytest.mark.req("AUD-3", "AUD-2")
def test_export_command_and_a_tampered_chain_shows_in_the_report(
    system: System, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from sqlalchemy import text
    from typer.testing import CliRunner

    from platekeeper.cli import app

    sample, _own, _theirs = _sample_with_own_access(system)
    monkeypatch.setenv("PLATEKEEPER_DATABASE_URL", system.settings.resolved_database_url)
    monkeypatch.setenv("PLATEKEEPER_MASTER_KEY", system.settings.master_key.get_secret_value())  # type: ignore[union-attr]
    runner = CliRunner()
    base = ["--data-dir", str(system.settings.data_dir), "audit", "export-sample"]
    target = tmp_path / "sample.pdf"
    result = runner.invoke(app, [*base, str(sample.id), "--format", "pdf", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"%PDF")
    assert runner.invoke(app, [*base, "999"]).exit_code == 1
    assert runner.invoke(app, [*base, str(sample.id), "--format", "docx"]).exit_code == 1

    with system.engine.begin() as conn:  # what someone with the database owner's rights could do
        if system.engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_event_no_update ON audit_event"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
        conn.execute(text("UPDATE audit_event SET actor_name = 'nobody' WHERE seq = 2"))
    tampered = runner.invoke(app, [*base, str(sample.id)])
    assert tampered.exit_code == 0
    assert "Audit chain,NOT intact" in tampered.stdout and "row 2: contents" in tampered.stdout
    with system.sessions() as session:
        exports = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "audit.export")).all()
        assert [(e.actor_type, e.details["chain_ok"]) for e in exports] == [("system", True), ("system", False)]
