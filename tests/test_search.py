"""Search (USE-4): exact, wildcard and fuzzy plates over top guesses and alternatives, places and times.

Wildcard, fuzzy and canvass results are compared with a brute-force scan of a
generated data set: nothing missing, nothing extra. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from platekeeper.policy.geo import CELL_DEG, Circle, Polygon, cell_of, distance_m, parse_polygon
from platekeeper.policy.plate_patterns import (
    PatternError,
    PlateQuery,
    Wildcard,
    closeness,
    levenshtein,
    one_edit_keys,
    plate_key,
)
from platekeeper.policy.purposes import PurposeStatement
from platekeeper.services import search as search_service
from platekeeper.services.agencies import home_agency
from platekeeper.services.reads import Viewer
from platekeeper.services.search_load import BulkRead, load
from platekeeper.services.search_query import Criteria, find
from platekeeper.services.search_synthetic import City, camera_sites, generate
from platekeeper.store.db import transaction
from platekeeper.store.models import Agency, AuditEvent, Camera, Read, ReadPlate
from platekeeper.system import System
from tests.conftest import ADMIN_ACTOR

START = dt.date(2026, 3, 1)
POLICE = {"law_enforcement"}
PURPOSE = PurposeStatement("criminal_investigation", "26-001234", None, "PC 187 homicide")


# ---- pure matching logic -------------------------------------------------------------------------------------------
@pytest.mark.req("USE-4")
@pytest.mark.parametrize(
    ("pattern", "plate", "matches"),
    [
        ("7AB?12*", "7ABC123", True),
        ("7AB?12*", "7ABX12", True),
        ("7AB?12*", "7AB12", False),
        ("7AB?12*", "7A8C123", False),  # wildcards are literal elsewhere: B is not 8
        ("*123", "7ABC123", True),
        ("?ABC123", "7ABC123", True),
        ("?ABC123", "ABC123", False),
        ("*AB*", "XXABYY", True),
        ("7*3", "73", True),
    ],
)
def test_wildcards_match_the_whole_plate(pattern: str, plate: str, matches: bool) -> None:
    assert Wildcard(pattern).matches(plate) is matches


@pytest.mark.req("USE-4")
def test_wildcards_take_the_index_of_their_longer_fixed_end() -> None:
    assert Wildcard("7AB?12*").index_ranges() == ("key", ["7A8"])
    assert Wildcard("*1234").index_ranges() == ("rkey", ["4321"])
    assert Wildcard("?74NOW").index_ranges() == ("rkey", ["W0N47"])  # one range beats 29 of the same length
    assert Wildcard("?ABC12*").index_ranges()[0] == "key"
    assert Wildcard("*AB*").index_ranges() == ("", [])


@pytest.mark.req("USE-4")
def test_confusables_fold_and_fuzzy_ranks_by_closeness() -> None:
    assert plate_key("SO8B-ZIG") == "5088-216"
    assert plate_key("D0O") == "000"
    assert closeness("7ABC123", "7ABC123") < closeness("7ABC123", "7A8C123")  # type: ignore[operator]
    assert closeness("7ABC123", "7A8C123") < closeness("7ABC123", "7ABC124")  # type: ignore[operator]
    assert closeness("7ABC123", "7ABC12") is not None  # one deletion
    assert closeness("7ABC123", "7ABC1234") is not None  # one insertion
    assert closeness("7ABC123", "7AXC124") is None  # two real edits
    assert closeness("7ABC123", "7A8C12") is not None  # a confusable and one deletion


@pytest.mark.req("USE-4")
def test_the_fuzzy_key_set_is_exactly_everything_one_edit_away() -> None:
    rng = random.Random(5)
    for _ in range(300):
        query = "".join(rng.choice("AB80O1") for _ in range(rng.randint(2, 5)))
        other = "".join(rng.choice("AB80O1") for _ in range(rng.randint(1, 6)))
        keys = one_edit_keys(plate_key(query))
        assert (plate_key(other) in keys) == (levenshtein(plate_key(query), plate_key(other)) <= 1)


def test_bad_queries_are_refused() -> None:
    for bad in ("", "***", "7AB%", "DROP;TABLE", "A" * 13):
        with pytest.raises(PatternError):
            PlateQuery.parse(bad)
    with pytest.raises(PatternError):
        PlateQuery.parse("7AB?", "fuzzy")
    assert PlateQuery.parse("7abc 123").text == "7ABC123"
    assert PlateQuery.parse("7AB?**1").text == "7AB?*1"


def test_grid_cells_cover_every_point_of_a_circle() -> None:
    rng = random.Random(2)
    circle = Circle(37.33, -121.89, 700)
    cells = set(circle.box().cells() or [])
    for _ in range(2000):
        lat = 37.33 + rng.uniform(-0.01, 0.01)
        lon = -121.89 + rng.uniform(-0.01, 0.01)
        if circle.contains(lat, lon):
            assert cell_of(lat, lon) in cells
    assert CELL_DEG == 0.005
    assert 690 < distance_m(37.33, -121.89, 37.33 + 700 / 111_195, -121.89) < 710


def test_polygons() -> None:
    square = parse_polygon("37.30,-121.90;37.30,-121.80;37.40,-121.80;37.40,-121.90")
    assert square.contains(37.35, -121.85)
    assert not square.contains(37.45, -121.85)
    assert isinstance(square, Polygon)
    with pytest.raises(ValueError):
        parse_polygon("37.3,-121.9;37.4,-121.8")


# ---- a generated city ------------------------------------------------------------------------------------------------
@dataclass
class Data:
    reads: list[BulkRead]
    city: City


def build_city(system: System, cameras: int = 12) -> City:
    rng = random.Random(11)
    with transaction(system.sessions) as session:
        agency = home_agency(session, system.profile)
        made = []
        for i, (lat, lon) in enumerate(camera_sites(rng, cameras)):
            camera = Camera(key=f"syn-{i}", agency_id=agency.id, name=f"Synthetic {i}", kind="fixed",
                            latitude=lat, longitude=lon, privacy_masks=[])  # fmt: skip
            session.add(camera)
            session.flush()
            made.append((camera.id, lat, lon))
        return City(made, agency.id)


def load_city(system: System, reads: int = 3000, seed: int = 7) -> Data:
    city = build_city(system)
    loaded: list[BulkRead] = []
    for batch in generate(city, reads=reads, seed=seed, start=START, days=10, batch=1000, vehicles=300):
        load(system.engine, batch)
        loaded.extend(batch)
    return Data(loaded, city)


def test_synthetic_reads_come_day_by_day_like_a_feed_or_spread_like_unsorted_history() -> None:
    city = City([(1, 37.33, -121.89), (2, 37.34, -121.88)], agency_id=1)

    def day_spans(spread: bool) -> list[tuple[dt.date, dt.date]]:
        batches = generate(city, reads=900, seed=5, start=START, days=9, batch=300, spread=spread)
        return [(min(r.captured_at.date() for r in b), max(r.captured_at.date() for r in b)) for b in batches]

    in_order = day_spans(spread=False)
    assert [last for _, last in in_order] == sorted(last for _, last in in_order)
    assert all((last - first).days <= 4 for first, last in in_order)  # 3 days a batch (+ the UTC offset)
    assert all((last - first).days >= 7 for first, last in day_spans(spread=True))
    assert day_spans(spread=False) == in_order  # seeded


def _texts(read: BulkRead) -> set[str]:
    return {read.plate, *(p for p, _ in read.candidates)}


def _found(system: System, criteria: Criteria, kinds: set[str] = POLICE) -> set[str]:
    with system.sessions() as session:
        result = find(session, criteria, kinds)
    assert not result.truncated
    return {h.read.uid for h in result.hits}


@pytest.mark.req("USE-4")
def test_wildcard_and_fuzzy_agree_with_a_brute_force_scan(system: System) -> None:
    data = load_city(system)
    rng = random.Random(3)
    sample = [r.plate for r in rng.sample(data.reads, 12)]
    patterns = ["7*", "*12", "?ABC*", "*1*", "*8?", "??8*"]
    for plate in sample:
        patterns += [plate[:3] + "?" + plate[4:], "?" + plate[1:], "*" + plate[-3:], plate[:2] + "*" + plate[-1]]
        patterns += ["??" + plate[2:], "*" + plate[-3:-1] + "?", "*" + plate[2:4] + "*"]
    for pattern in dict.fromkeys(patterns):
        query = PlateQuery.parse(pattern)
        expected = {r.uid for r in data.reads if any(Wildcard(query.text).matches(t) for t in _texts(r))}
        assert _found(system, Criteria(plate=query, limit=10_000)) == expected, pattern
    for plate in sample:
        query = PlateQuery.parse(plate, "fuzzy")
        expected = {r.uid for r in data.reads if any(closeness(plate, t) is not None for t in _texts(r))}
        assert _found(system, Criteria(plate=query, limit=10_000)) == expected, plate
        exact = {r.uid for r in data.reads if plate in _texts(r)}
        assert _found(system, Criteria(plate=PlateQuery.parse(plate), limit=10_000)) == exact
        top_only = {r.uid for r in data.reads if r.plate == plate}
        assert _found(system, Criteria(plate=PlateQuery.parse(plate), alternatives=False, limit=10_000)) == top_only


@pytest.mark.req("USE-4")
def test_a_short_page_is_the_start_of_the_full_ordered_result(system: System) -> None:
    data = load_city(system, reads=1500)
    for plate in [r.plate for r in random.Random(4).sample(data.reads, 6)]:
        for mode in ("exact", "fuzzy"):
            query = PlateQuery.parse(plate, mode)
            with system.sessions() as session:
                full = find(session, Criteria(plate=query, limit=10_000), POLICE)
                page = find(session, Criteria(plate=query, limit=3), POLICE)
            assert [h.read.uid for h in page.hits] == [h.read.uid for h in full.hits][:3]
            assert page.truncated is (len(full.hits) > 3)


@pytest.mark.req("USE-4")
def test_fuzzy_results_are_ranked_closest_first(system: System) -> None:
    data = load_city(system, reads=1500)
    plate = max((r.plate for r in data.reads), key=lambda p: sum(r.plate == p for r in data.reads))
    with system.sessions() as session:
        hits = find(session, Criteria(plate=PlateQuery.parse(plate, "fuzzy"), limit=10_000), POLICE).hits
    ranks = [h.closeness for h in hits]
    assert ranks == sorted(ranks) and ranks[0].edits == 0
    assert any(h.matched_on == "alternative" for h in hits) or all(h.read.plate == h.matched_plate for h in hits)


@pytest.mark.req("USE-4")
def test_filters_by_time_camera_area_and_colour_agree_with_a_brute_force_scan(system: System) -> None:
    data = load_city(system, reads=2000)
    camera_id, lat, lon = data.city.cameras[0]
    since = dt.datetime.combine(START + dt.timedelta(days=2), dt.time(), tzinfo=dt.UTC)
    until = since + dt.timedelta(days=3)
    with system.sessions() as session:
        key = session.scalar(select(Camera.key).where(Camera.id == camera_id))
    circle = Circle(lat, lon, 1500)
    criteria = Criteria(since=since, until=until, circle=circle, colour="white", limit=10_000)
    expected = {
        r.uid
        for r in data.reads
        if since <= r.captured_at <= until and r.vehicle_colour == "white"
        and circle.contains(r.latitude or 0, r.longitude or 0)
    }  # fmt: skip
    assert _found(system, criteria) == expected and expected
    by_camera = Criteria(cameras=(str(key),), since=since, until=until, limit=10_000)
    expected = {r.uid for r in data.reads if r.camera_id == camera_id and since <= r.captured_at <= until}
    assert _found(system, by_camera) == expected and expected
    polygon = Polygon(((lat - 0.01, lon - 0.01), (lat - 0.01, lon + 0.01), (lat + 0.01, lon)))
    expected = {r.uid for r in data.reads if polygon.contains(r.latitude or 0, r.longitude or 0)}
    assert _found(system, Criteria(polygon=polygon, limit=10_000)) == expected


@pytest.mark.req("USE-4", "AUD-1")
def test_canvass_groups_every_read_near_the_scene_by_plate(system: System) -> None:
    data = load_city(system, reads=2000)
    anchor = data.reads[100]
    assert anchor.latitude is not None and anchor.longitude is not None
    scene = search_service.Scene(anchor.latitude, anchor.longitude, anchor.captured_at, radius_m=800, minutes=180)
    viewer = Viewer(ADMIN_ACTOR, frozenset({"reads.view"}))
    with transaction(system.sessions) as session:
        result = search_service.canvass(session, viewer, PURPOSE, scene)
        grouped = {g.plate: {h.read.uid for h in g.hits} for g in result.groups}
    window = dt.timedelta(minutes=180)
    expected: dict[str, set[str]] = {}
    for r in data.reads:
        near = distance_m(scene.lat, scene.lon, r.latitude or 0, r.longitude or 0) <= 800
        if near and abs(r.captured_at - scene.at) <= window:
            expected.setdefault(r.plate, set()).add(r.uid)
    assert grouped == expected
    event = _last_event(system, "search.canvass")
    assert event.details["result_count"] == sum(len(v) for v in expected.values())
    assert event.details["criteria"]["scene"]["radius_m"] == 800
    assert event.details["purpose"] == "criminal_investigation" and event.details["case_number"] == "26-001234"


def _last_event(system: System, event_type: str) -> AuditEvent:
    with system.sessions() as session:
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.seq.desc()).limit(1)
        )
    assert event is not None
    return event


@pytest.mark.req("AUD-1", "USE-1")
def test_a_search_that_finds_nothing_is_audited_like_one_that_does(system: System) -> None:
    load_city(system, reads=300)
    viewer = Viewer(ADMIN_ACTOR, frozenset({"reads.view"}))
    criteria = Criteria(plate=PlateQuery.parse("ZZZ?99*"), colour="red", limit=50)
    with transaction(system.sessions) as session:
        result = search_service.search(session, viewer, PURPOSE, criteria)
    assert result.hits == []
    event = _last_event(system, "search.reads")
    assert event.details["result_count"] == 0 and event.details["plates"] == []
    assert event.details["criteria"]["plate"] == "ZZZ?99*" and event.details["criteria"]["mode"] == "wildcard"
    assert event.details["criteria"]["colour"] == "red"
    assert event.details["presumed_crime"] == "PC 187 homicide"


@pytest.mark.req("SHR-4", "PRK-4")
def test_parking_viewers_get_the_same_empty_answer_whether_police_reads_exist(system: System) -> None:
    criteria = Criteria(plate=PlateQuery.parse("7*"), limit=100)
    before = _found(system, criteria, {"parking"})
    data = load_city(system, reads=500)
    assert any(r.plate.startswith("7") for r in data.reads)
    assert _found(system, criteria, {"parking"}) == before == set()
    assert _found(system, criteria, set()) == set()
    with transaction(system.sessions) as session:
        parking = Agency(name="City Parking", kind="parking")
        session.add(parking)
    assert _found(system, criteria, {"parking"}) == set()


@pytest.mark.req("USE-4")
def test_reads_stored_through_ingest_are_indexed_with_their_alternatives(system: System) -> None:
    from tests.helpers import make_camera

    make_camera(system, "cam-1")
    from fastapi.testclient import TestClient

    from platekeeper.web.app import create_app

    client = TestClient(create_app(system.settings, system=system))
    key = make_camera(system, "cam-2")
    body = {
        "client_read_id": "edge-1",
        "captured_at": "2026-05-01T17:30:00-07:00",
        "plate": "8XYZ123",
        "confidence": 0.93,
        "candidates": [{"plate": "8XYZ123", "confidence": 0.93}, {"plate": "8XY2123", "confidence": 0.4}],
        "latitude": 37.3,
        "longitude": -121.9,
    }
    response = client.post("/api/v1/reads", json=body, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 201, response.text
    with system.sessions() as session:
        rows = session.execute(select(ReadPlate.plate, ReadPlate.plate_key, ReadPlate.is_top)).all()
        read = session.scalars(select(Read)).one()
    assert sorted(rows) == [("8XY2123", "8XY2123", False), ("8XYZ123", "8XY2123", True)]
    assert read.cell == cell_of(37.3, -121.9)
    assert _found(system, Criteria(plate=PlateQuery.parse("8XY2123"))) == {read.uid}
    assert _found(system, Criteria(plate=PlateQuery.parse("8XY2123"), alternatives=False)) == set()


@pytest.mark.postgres
def test_postgres_reads_are_partitioned_by_week_and_any_day_can_be_stored(settings: object, system: System) -> None:
    if system.engine.dialect.name != "postgresql":
        pytest.skip("partitioning is PostgreSQL only")
    data = load_city(system, reads=400)
    with system.engine.connect() as conn:
        parts = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'plate_read'::regclass"
        ).scalar_one()
        in_default = conn.exec_driver_sql("SELECT count(*) FROM plate_read_default").scalar_one()
    assert parts >= 2 + 1 and in_default == 0
    # A day without a partition still stores (default partition); creating its week later moves the rows.
    far = BulkRead(data.city.agency_id, data.city.cameras[0][0], "1FAR000", 0.9,
                   dt.datetime(2031, 1, 2, 3, tzinfo=dt.UTC), 37.3, -121.9)  # fmt: skip
    with system.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO plate_read (uid, agency_id, camera_id, plate, confidence, candidates, captured_at, "
            f"capture_day, received_at, source) VALUES ('{far.uid}', {far.agency_id}, {far.camera_id}, "
            "'1FAR000', 0.9, '[]', '2031-01-02T03:00:00Z', '2031-01-02', now(), 'test')"
        )
    from platekeeper.store.partitions import ensure_days

    assert ensure_days(system.engine, [dt.date(2031, 1, 2)]) == 1
    with system.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM plate_read_w20301230").scalar_one() == 1  # its Monday
        assert conn.exec_driver_sql("SELECT count(*) FROM plate_read_default").scalar_one() == 0
    with system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Read)) == 401
