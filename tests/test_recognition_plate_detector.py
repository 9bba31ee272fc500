"""The project's plate detector (``plate_detector.onnx``) and the detector cascade of the pipeline."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from platekeeper.recognition.base import Box, Detector, Image, TextRegion
from platekeeper.recognition.geometry import iou
from platekeeper.recognition.pipeline import OcrPlateRecognizer, RecognizerOptions
from platekeeper.recognition.plate_detector import PlateDetector
from tests.test_recognition import UCSD, StubDetector, StubReader, plate_free, synthetic_car


@pytest.fixture(scope="module")
def detector() -> PlateDetector:
    found = PlateDetector(1)
    found.load()
    return found


def _inside(region: TextRegion, image: Image) -> bool:
    h, w = image.shape[:2]
    return all(0 <= x <= w - 1 and 0 <= y <= h - 1 for x, y in region.quad)


def _clockwise_from_top_left(quad: tuple[tuple[float, float], ...]) -> bool:
    (tlx, tly), (trx, try_), (brx, bry), (blx, bly) = quad
    return tlx < trx and blx < brx and tly < bly and try_ < bry


@pytest.mark.slow
@pytest.mark.req("CAP-1")
@pytest.mark.skipif(not (UCSD / "cars026.jpg").is_file(), reason="../shared/data/ucsd-stills not present")
def test_finds_the_plate_of_a_photograph(detector: PlateDetector) -> None:
    image = cv2.imread(str(UCSD / "cars026.jpg"))
    regions = detector.detect(image)
    assert regions, "no plate found"
    truth = Box(264, 219, 76, 25)  # the labelled characters of 4YTD483
    assert iou(regions[0].box, truth) > 0.5
    assert _clockwise_from_top_left(regions[0].quad) and _inside(regions[0], image)


@pytest.mark.slow
def test_finds_a_drawn_plate_and_orders_regions(detector: PlateDetector) -> None:
    image = synthetic_car()
    regions = detector.detect(image)
    assert regions, "no plate found"
    assert [r.score for r in regions] == sorted((r.score for r in regions), reverse=True)
    x, y, w, h = regions[0].box.as_list()
    assert 230 < x + w / 2 < 410 and 260 < y + h / 2 < 345, "the best region is on the plate"
    assert all(_inside(r, image) and _clockwise_from_top_left(r.quad) for r in regions)
    assert all(0.0 <= r.score <= 1.0 for r in regions)


@pytest.mark.slow
def test_no_plate_no_region_and_odd_images_do_not_fail(detector: PlateDetector) -> None:
    assert detector.detect(plate_free()) == []
    assert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []
    assert detector.detect(np.zeros((8, 8, 3), np.uint8)) == []
    assert detector.detect(np.zeros((100, 100), np.uint8)) == []  # not a colour image
    tall = np.ascontiguousarray(cv2.rotate(synthetic_car(), cv2.ROTATE_90_CLOCKWISE))
    assert isinstance(detector.detect(tall), list)


@pytest.mark.slow
def test_same_image_same_regions(detector: PlateDetector) -> None:
    image = synthetic_car(seed=4)
    assert detector.detect(image) == detector.detect(image.copy())


def test_input_is_at_most_max_side_in_multiples_of_32() -> None:
    detector = PlateDetector(1, max_side=384, model_path=Path("unused.onnx"))
    assert detector.input_size(480, 640) == (288, 384)
    assert detector.input_size(1080, 1920) == (224, 384)
    assert detector.input_size(100, 150) == (96, 160)  # small images are not enlarged


class CountingDetector(StubDetector):
    def __init__(self, boxes: list[Box]) -> None:
        super().__init__(boxes)
        self.calls = 0

    def detect(self, image: Image) -> list[TextRegion]:
        self.calls += 1
        return super().detect(image)


def _cascade(first: Detector, fallback: Detector) -> OcrPlateRecognizer:
    return OcrPlateRecognizer(first, StubReader(), RecognizerOptions(crops=((0.0, 0.0, 1.0),)), fallback)


def test_text_detector_runs_only_when_the_plate_detector_finds_no_confident_plate() -> None:
    image = np.full((200, 400, 3), 60, dtype=np.uint8)  # brightness 60: the stub reads 5XYZ999
    plate = Box(150, 80, 100, 24)
    text = CountingDetector([plate])
    assert [p.plate for p in _cascade(StubDetector([plate]), text).recognize(image)] == ["5XYZ999"]
    assert text.calls == 0, "a confident plate from the first detector ends the search"
    assert [p.plate for p in _cascade(StubDetector([]), text).recognize(image)] == ["5XYZ999"]
    assert text.calls == 1, "nothing found: the next detector looks"


def test_the_finer_pass_looks_only_at_images_the_first_pass_shrank() -> None:
    coarse = PlateDetector(1, max_side=384, model_path=Path("unused.onnx"))
    fine = coarse.finer(1024)
    assert (fine.max_side, fine.only_above) == (1024, 384)
    assert fine.input_size(1080, 1920) == (576, 1024)
    assert fine.input_size(480, 640) == (480, 640)  # read at its own size, not shrunk to 384
    assert fine.detect(np.zeros((300, 384, 3), np.uint8)) == []  # seen whole already: no model call


@pytest.mark.slow
@pytest.mark.skipif(not (UCSD / "cars026.jpg").is_file(), reason="../shared/data/ucsd-stills not present")
def test_the_finer_pass_finds_a_small_plate_in_a_large_frame(detector: PlateDetector) -> None:
    photo = cv2.imread(str(UCSD / "cars026.jpg"))
    frame = cv2.copyMakeBorder(photo, 480, 480, 640, 640, cv2.BORDER_REFLECT)  # 1920 x 1440, plate unchanged
    truth = Box(264 + 640, 219 + 480, 76, 25)
    assert not any(iou(r.box, truth) > 0.5 for r in detector.detect(frame)), "too small at 384 px"
    assert any(iou(r.box, truth) > 0.5 for r in detector.finer(1024).detect(frame))
