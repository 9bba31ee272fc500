"""Tracking plates across video frames and voting per track: one vehicle, one read (CAP-1).

A read joins the open track it best matches: near the track's last box (or read as nearly the
same text) within ``max_gap_s`` seconds. Every read votes for its candidates; when the track
ends, the candidate with the most evidence wins, and the frame in which the winner was read
most confidently is kept. Only that frame is held per track, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from platekeeper.recognition.base import Candidate, PlateRead
from platekeeper.recognition.geometry import iou

F = TypeVar("F")


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        cur = [i]
        for j, cb in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@dataclass
class _Track(Generic[F]):
    first_t: float
    last_t: float
    last: PlateRead
    votes: dict[str, float] = field(default_factory=dict)
    sightings: int = 0
    # per plate text: (confidence, timestamp, frame, read) of its most confident sighting
    best: dict[str, tuple[float, float, F, PlateRead]] = field(default_factory=dict)

    def add(self, timestamp: float, frame: F, read: PlateRead) -> None:
        self.last_t, self.last = timestamp, read
        self.sightings += 1
        for c in read.candidates or (Candidate(read.plate, read.confidence),):
            self.votes[c.plate] = self.votes.get(c.plate, 0.0) + c.confidence
        kept = self.best.get(read.plate)
        if kept is None or read.confidence > kept[0]:
            self.best[read.plate] = (read.confidence, timestamp, frame, read)

    def leader(self) -> str:
        return min(self.votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]

    def result(self, top: int) -> tuple[float, F, PlateRead]:
        winner = self.leader()
        if winner in self.best:
            _, timestamp, frame, read = self.best[winner]
        else:  # the winner was never anyone's first choice: keep the most confident frame
            _, timestamp, frame, read = max(self.best.values(), key=lambda b: (b[0], -b[1]))
        ranked = sorted(self.votes.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        candidates = tuple(Candidate(p, round(min(1.0, v / self.sightings), 4)) for p, v in ranked)
        confidence = read.confidence if read.plate == winner else candidates[0].confidence
        return timestamp, frame, replace(read, plate=winner, confidence=confidence, candidates=candidates)


class PlateTracker(Generic[F]):
    """Feed ``update`` the reads of each sampled frame in time order; ``finish`` gives one per track."""

    def __init__(self, max_gap_s: float = 2.0, min_iou: float = 0.05, max_text_distance: int = 2, top: int = 5):
        self.max_gap_s = max_gap_s
        self.min_iou = min_iou
        self.max_text_distance = max_text_distance
        self.top = top
        self._open: list[_Track[F]] = []
        self._done: list[_Track[F]] = []

    def _matches(self, track: _Track[F], read: PlateRead) -> float:
        """How well a read continues a track (0: not at all)."""
        distance = edit_distance(track.leader(), read.plate)
        overlap = iou(track.last.box, read.box)
        if overlap >= self.min_iou and distance <= self.max_text_distance + 2:
            return 1.0 + overlap
        if distance <= self.max_text_distance:
            return 1.0 - distance / 10
        return 0.0

    def update(self, timestamp: float, frame: F, reads: Iterable[PlateRead]) -> None:
        still_open: list[_Track[F]] = []
        for track in self._open:
            (still_open if timestamp - track.last_t <= self.max_gap_s else self._done).append(track)
        self._open = still_open
        taken: set[int] = set()  # one read per track per frame
        for read in sorted(reads, key=lambda r: -r.confidence):
            scored = [(self._matches(t, read), i) for i, t in enumerate(self._open) if i not in taken]
            score, index = max(scored, default=(0.0, -1))
            if score <= 0:
                self._open.append(_Track(timestamp, timestamp, read))
                index = len(self._open) - 1
            self._open[index].add(timestamp, frame, read)
            taken.add(index)

    def finish(self) -> list[tuple[float, F, PlateRead]]:
        tracks = sorted(self._done + self._open, key=lambda t: t.first_t)
        self._open, self._done = [], []
        return [t.result(self.top) for t in tracks]
