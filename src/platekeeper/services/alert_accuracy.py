"""Accuracy from the field (CAP-5): of the alerts an officer checked, how many plates were read right.

Counted from the visual confirmation recorded on each alert (HOT-5): "yes" is a confirmed read,
"no" a misread. Alerts nobody has checked yet are shown apart and left out of the share, so the
figure for the annual report rests only on what officers saw.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from platekeeper.store.hotlist_models import Alert
from platekeeper.store.models import Camera


@dataclass(frozen=True)
class Tally:
    camera: str  # a camera key, or "all"
    camera_name: str
    confirmed: int
    misread: int
    unverified: int

    @property
    def checked(self) -> int:
        return self.confirmed + self.misread

    @property
    def accuracy(self) -> float | None:
        return self.confirmed / self.checked if self.checked else None


@dataclass(frozen=True)
class AccuracyReport:
    start: dt.datetime | None
    end: dt.datetime | None
    overall: Tally
    cameras: list[Tally]


def report(session: Session, start: dt.datetime | None = None, end: dt.datetime | None = None) -> AccuracyReport:
    confirmed = func.sum(case((Alert.plate_confirmed.is_(True), 1), else_=0))
    misread = func.sum(case((Alert.plate_confirmed.is_(False), 1), else_=0))
    unverified = func.sum(case((Alert.plate_confirmed.is_(None), 1), else_=0))
    query = (
        select(Camera.key, Camera.name, confirmed, misread, unverified)
        .join(Camera, Camera.id == Alert.camera_id)
        .group_by(Camera.key, Camera.name)
        .order_by(Camera.key)
    )
    if start is not None:
        query = query.where(Alert.created_at >= start)
    if end is not None:
        query = query.where(Alert.created_at < end)
    cameras = [Tally(k, n, int(c or 0), int(m or 0), int(u or 0)) for k, n, c, m, u in session.execute(query).all()]
    overall = Tally(
        "all",
        "All cameras",
        sum(t.confirmed for t in cameras),
        sum(t.misread for t in cameras),
        sum(t.unverified for t in cameras),
    )
    return AccuracyReport(start=start, end=end, overall=overall, cameras=cameras)
