"""The ingest writer: concurrent submissions share commits, yet each gets its own answer and its own error."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from platekeeper.recognition.base import Box, Candidate, PlateRead
from platekeeper.services import audit, ingest, ingest_writer
from platekeeper.store.db import reading, transaction
from platekeeper.store.models import AuditEvent, Read, utcnow
from platekeeper.system import System
from tests.helpers import make_camera

ACTOR = audit.Actor(type="camera", id="cam-1", name="cam-1", source_ip="10.0.0.7")


def _pending(plate: str, client_id: str | None, captured: dt.datetime | None = None) -> ingest.PendingRead:
    read = PlateRead(plate=plate, confidence=0.9, candidates=(Candidate(plate, 0.9),), box=Box(1, 1, 50, 20))
    return ingest.PendingRead(read, captured or utcnow() - dt.timedelta(seconds=1), None, client_id)


def _count(system: System) -> int:
    with reading(system.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(Read)) or 0)


def _submit_together(system: System, items: list[ingest.PendingRead], camera: str = "cam-1") -> list[object]:
    """Submit from many threads at once, so that the writer batches them; returns results or errors."""
    start = threading.Barrier(len(items))

    def one(item: ingest.PendingRead) -> object:
        start.wait()
        try:
            return ingest.store_reads(system, ACTOR, camera, [item], "api-edge")
        except ingest.IngestRefused as exc:
            return exc

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(one, items))


@pytest.mark.req("CAP-1", "AUD-1")
def test_concurrent_submissions_are_all_stored_and_audited(system: System) -> None:
    make_camera(system)
    outcomes = _submit_together(system, [_pending(f"7ABC{i:03d}", f"c{i}") for i in range(24)])
    assert all(isinstance(o, ingest.IngestResult) and len(o.created) == 1 for o in outcomes)
    assert _count(system) == 24
    with reading(system.sessions) as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "read.ingest")).all()
    audited = [uid for e in events for uid in e.details["reads"]]
    assert sorted(audited) == sorted(o.created[0].uid for o in outcomes)  # type: ignore[union-attr]
    assert all(e.source_ip == "10.0.0.7" and e.target == "camera:cam-1" for e in events)
    assert audit.verify(system.sessions).ok


def test_one_bad_submission_does_not_sink_the_others_in_its_batch(system: System) -> None:
    make_camera(system)
    make_camera(system, "cam-dark", attested=False)
    sizes: list[int] = []

    def write(system: System, subs: object) -> list[ingest.IngestResult]:
        sizes.append(len(subs))  # type: ignore[arg-type]
        return ingest.write_batch(system, subs)  # type: ignore[arg-type]

    def job(camera: str, plate: str, client_id: str) -> ingest_writer._Job:
        sub = ingest.Submission(ACTOR, camera, [_pending(plate, client_id)], "api-edge", [[]])
        return ingest_writer._Job(system, sub, write, Future())

    batch = [job("cam-1", f"8XYZ{i:03d}", f"g{i}") for i in range(5)]
    batch.insert(2, job("cam-dark", "9BAD000", "b0"))
    ingest_writer._write(batch)  # as the writer thread would, with the whole batch at once
    assert sizes == [6, 1, 1, 1, 1, 1, 1]  # the batch failed, then each alone
    bad = batch.pop(2).done.exception()
    assert isinstance(bad, ingest.IngestRefused) and "attestation" in str(bad)
    assert all(len(j.done.result().created) == 1 for j in batch)
    assert _count(system) == 5


def test_the_same_client_read_id_twice_at_once_is_stored_once(system: System) -> None:
    make_camera(system)
    outcomes = _submit_together(system, [_pending("5DUP123", "same-id") for _ in range(6)])
    results = [o for o in outcomes if isinstance(o, ingest.IngestResult)]
    assert len(results) == 6
    created = [r for o in results for r in o.created]
    duplicates = [r for o in results for r in o.duplicates]
    assert len(created) == 1 and len(duplicates) == 5
    assert {d.uid for d in duplicates} == {created[0].uid}
    assert _count(system) == 1


def test_a_time_without_zone_is_refused_before_it_reaches_a_batch(system: System) -> None:
    make_camera(system)
    with pytest.raises(ingest.IngestRefused, match="time zone"):
        ingest.store_reads(system, ACTOR, "cam-1", [_pending("1ABC234", "t", dt.datetime(2026, 5, 1, 10))], "x")
    assert _count(system) == 0


def test_the_writer_thread_retires_when_idle(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest_writer, "IDLE_EXIT_S", 0.05)
    make_camera(system)
    ingest.store_reads(system, ACTOR, "cam-1", [_pending("2ABC345", "r1")], "api-edge")
    for _ in range(100):
        if system.engine not in ingest_writer._writers:
            break
        threading.Event().wait(0.05)
    assert system.engine not in ingest_writer._writers
    ingest.store_reads(system, ACTOR, "cam-1", [_pending("2ABC346", "r2")], "api-edge")  # a new one starts
    assert _count(system) == 2


def test_a_reading_session_does_not_wait_for_the_writer(tmp_path: object, system: System) -> None:
    """SQLite: a read-only session reads the last commit while another connection holds the write lock."""
    if system.engine.dialect.name != "sqlite":
        pytest.skip("the write lock is SQLite's")
    make_camera(system)
    ingest.store_reads(system, ACTOR, "cam-1", [_pending("3ABC456", "w1")], "api-edge")
    with transaction(system.sessions) as writer:
        writer.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock is held until the block ends
        done = threading.Event()

        def read_meanwhile() -> None:
            assert _count(system) == 1
            done.set()

        thread = threading.Thread(target=read_meanwhile)
        thread.start()
        assert done.wait(5), "a reading session waited for the writer"
        thread.join()
