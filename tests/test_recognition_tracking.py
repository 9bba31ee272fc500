"""Video: plates tracked across frames, one voted read per vehicle (CAP-1)."""

from __future__ import annotations

import pytest

from platekeeper.capture.video import best_reads_per_plate
from platekeeper.recognition.base import Box, Candidate, PlateRead
from platekeeper.recognition.tracking import PlateTracker, edit_distance


def _read(plate: str, conf: float, x: int = 100, alts: tuple[tuple[str, float], ...] = ()) -> PlateRead:
    return PlateRead(plate, conf, (Candidate(plate, conf), *(Candidate(p, c) for p, c in alts)), Box(x, 200, 80, 25))


def test_edit_distance() -> None:
    assert edit_distance("7ABC123", "7ABC123") == 0
    assert edit_distance("7ABC123", "7A8C123") == 1
    assert edit_distance("7ABC123", "ABC123") == 1
    assert edit_distance("", "ABC") == 3


@pytest.mark.req("CAP-1")
def test_one_vehicle_one_read_by_vote_with_the_best_frame() -> None:
    stream = [
        (0.0, "f0", [_read("7A8C123", 0.6, 100, (("7ABC123", 0.55),))]),  # a misread, far away
        (0.5, "f1", [_read("7ABC123", 0.8, 140)]),
        (1.0, "f2", [_read("7ABC123", 0.93, 180)]),
        (1.5, "f3", [_read("7ABC128", 0.7, 220, (("7ABC123", 0.6),))]),
    ]
    out = best_reads_per_plate(stream)
    assert len(out) == 1
    t, frame, read = out[0]
    assert (t, frame, read.plate, read.confidence) == (1.0, "f2", "7ABC123", 0.93)
    assert read.candidates[0].plate == "7ABC123"
    assert {"7A8C123", "7ABC128"} <= {c.plate for c in read.candidates}


@pytest.mark.req("CAP-1")
def test_two_vehicles_and_a_gap_make_separate_tracks() -> None:
    tracker: PlateTracker[str] = PlateTracker(max_gap_s=1.0)
    tracker.update(0.0, "a", [_read("7ABC123", 0.9, 100), _read("5XYZ999", 0.8, 400)])
    tracker.update(0.5, "b", [_read("7ABC123", 0.95, 110), _read("5XYZ999", 0.7, 410)])
    tracker.update(5.0, "c", [_read("7ABC123", 0.9, 100)])  # the same plate much later: a new pass
    out = tracker.finish()
    assert [(r.plate, f) for _, f, r in out] == [("7ABC123", "b"), ("5XYZ999", "a"), ("7ABC123", "c")]
    assert tracker.finish() == []
