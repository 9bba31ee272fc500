"""CAP-4: with the ``blur_people`` setting, faces and people in stored frames are blurred before storage."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select

from platekeeper.recognition.base import Box, Candidate, PlateRead
from platekeeper.recognition.images import decode_image
from platekeeper.recognition.people import PeopleBlurrer
from platekeeper.services import audit, ingest
from platekeeper.settings import Settings
from platekeeper.store.models import ReadImage, utcnow
from platekeeper.system import BlurUnavailableError, System
from tests.helpers import make_camera

needs_detectors = pytest.mark.skipif(not PeopleBlurrer().available, reason="OpenCV's cascade classifier is missing")


def _stored_frame(system: System, frame: np.ndarray, camera: str) -> np.ndarray:
    make_camera(system, camera)
    plate = PlateRead(plate="7ABC123", confidence=0.9, candidates=(Candidate("7ABC123", 0.9),), box=Box(1, 1, 9, 9))
    pending = ingest.PendingRead(plate, utcnow() - dt.timedelta(seconds=1), frame, "f1")
    actor = audit.Actor(type="camera", id=camera, name=camera)
    read = ingest.store_reads(system, actor, camera, [pending], "api-image").created[0]
    with system.sessions() as session:
        image = session.scalars(select(ReadImage).where(ReadImage.read_id == read.id)).one()
        return decode_image(system.images.get(image.capture_day, image.blob_name, session=session))


def _system(settings: Settings, blur: bool) -> System:
    return System.build(settings.model_copy(update={"blur_people": blur}), migrate=True)


@needs_detectors
@pytest.mark.req("CAP-4")
def test_a_blurred_region_is_stored_only_when_the_setting_is_on(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ys, xs = np.mgrid[0:240, 0:320]
    checks = (((ys // 8 + xs // 8) % 2) * 200 + 20).astype(np.uint8)  # sharp detail everywhere, JPEG-friendly
    frame = np.dstack([checks] * 3)
    # The detectors are OpenCV's; which pixels they flag is their business. Here one region stands for a face.
    monkeypatch.setattr(PeopleBlurrer, "regions", lambda self, image: [Box(100, 60, 80, 80)])
    plain = _system(settings, blur=False)
    try:
        kept = _stored_frame(plain, frame, "cam-plain")
    finally:
        plain.close()
    assert np.abs(kept[70:130, 110:170].astype(int) - frame[70:130, 110:170]).mean() < 10  # JPEG noise only
    blurred_system = _system(settings, blur=True)
    try:
        blurred = _stored_frame(blurred_system, frame, "cam-blur")
    finally:
        blurred_system.close()
    inside = blurred[70:130, 110:170].astype(float)
    assert inside.std() < frame[70:130, 110:170].std() / 3  # detail gone inside the region
    assert np.abs(blurred[:40, :40].astype(int) - frame[:40, :40]).mean() < 10  # untouched outside


@pytest.mark.req("CAP-4")
def test_the_server_refuses_to_start_when_blurring_is_asked_for_but_cannot_run(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PeopleBlurrer, "available", property(lambda self: False))
    with pytest.raises(BlurUnavailableError, match="blur_people"):
        _system(settings, blur=True)
