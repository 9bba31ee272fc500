"""Plate-reader input, fusion of readers, geometry and stacked plates, over stub models."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from platekeeper.recognition.base import Box, Detector, Image, Reader, TextRead, TextRegion
from platekeeper.recognition.fusion import Vote, fuse
from platekeeper.recognition.geometry import grow, quad_size, rectify
from platekeeper.recognition.pipeline import OcrPlateRecognizer, RecognizerOptions
from platekeeper.recognition.plate_input import INPUT_H, INPUT_W, prepare, split_row, unfold


def _read(text: str, conf: float = 0.9) -> TextRead:
    return TextRead(text, conf, tuple(conf for _ in text))


def test_prepare_shape_and_normalisation() -> None:
    dark = np.full((20, 60, 3), 10, np.uint8)
    dark[5:15, 10:50] = 40
    bright = (dark.astype(np.int32) * 5).clip(0, 255).astype(np.uint8)
    a, b = prepare(dark), prepare(bright)
    assert a.shape == (1, INPUT_H, INPUT_W) and a.dtype == np.float32
    # the same plate under other light looks the same to the reader
    assert np.allclose(a, b, atol=0.05)
    assert prepare(np.zeros((4, 4), np.uint8)).shape == (1, INPUT_H, INPUT_W)


def test_unfold_puts_the_lower_line_after_the_upper() -> None:
    crop = np.full((100, 120, 3), 255, np.uint8)
    cv2.putText(crop, "AB", (20, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 3)
    cv2.putText(crop, "123", (10, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 3)
    row = split_row(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY))
    assert 40 <= row <= 60
    flat = unfold(crop)
    assert flat.shape[0] == max(row, 100 - row) and flat.shape[1] > 1.8 * 120


def test_grow_and_rectify_a_tilted_line() -> None:
    quad = ((10.0, 20.0), (110.0, 30.0), (108.0, 50.0), (8.0, 40.0))
    w, h = quad_size(quad)
    bigger = grow(quad, 0.5, -0.25, 1.25)
    bw, bh = quad_size(bigger)
    assert bw == pytest.approx(w + h, rel=0.02) and bh == pytest.approx(1.5 * h, rel=0.02)
    image = np.zeros((80, 140, 3), np.uint8)
    assert rectify(image, bigger).shape[:2] == (round(bh), round(bw))


def test_fusion_agreement_outvotes_a_single_slip() -> None:
    votes = [Vote(_read("7ABC123")), Vote(_read("7A8C123", 0.95)), Vote(_read("7ABC123"), 0.5)]
    cands = fuse(votes, 3, 10, 5)
    assert cands[0].plate == "7ABC123"
    assert [c.confidence for c in cands] == sorted((c.confidence for c in cands), reverse=True)
    # a reader that saw nothing lowers the confidence; words and nothing at all give no candidates
    assert fuse([Vote(_read("7ABC123")), Vote(None)], 3, 10, 1)[0].confidence < cands[0].confidence
    assert fuse([Vote(_read("TOYOTA"))], 3, 10, 5) == []
    assert fuse([], 3, 10, 5) == []


class LineDetector(Detector):
    def __init__(self, boxes: list[Box]) -> None:
        self.boxes = boxes

    def detect(self, image: Image) -> list[TextRegion]:
        return [
            TextRegion(b, ((b.x, b.y), (b.x + b.w, b.y), (b.x + b.w, b.y + b.h), (b.x, b.y + b.h)), 0.9)
            for b in self.boxes
        ]


class ByRowReader(Reader):
    """Reads 'one line' text depending on where the crop came from (its brightness)."""

    def __init__(self, texts: dict[int, str], conf: float = 0.95) -> None:
        self.texts = texts
        self.conf = conf
        self.calls = 0

    def read(self, crop: Image) -> TextRead | None:
        self.calls += 1
        level = round(float(np.median(crop)) / 50)
        text = self.texts.get(level)
        return _read(text, self.conf) if text else None


def test_two_line_plate_is_joined_top_then_bottom() -> None:
    image = np.zeros((200, 300, 3), np.uint8)
    image[40:74] = 50  # upper line
    image[74:110] = 100  # lower line
    boxes = [Box(100, 50, 80, 22), Box(100, 76, 80, 22)]
    reader = ByRowReader({1: "7AB", 2: "1234"})
    recognizer = OcrPlateRecognizer(LineDetector(boxes), reader, RecognizerOptions(crops=((0.1, 0.1, 0.9),)))
    plates = recognizer.recognize(image, top=3)
    assert plates[0].plate == "7AB1234"
    assert plates[0].box == Box(100, 50, 80, 48)


def test_second_reader_runs_only_when_the_first_is_unsure() -> None:
    image = np.full((200, 300, 3), 100, np.uint8)
    boxes = [Box(100, 80, 100, 25)]
    options = RecognizerOptions(crops=((0.1, 0.0, 1.0),), second_crops=((0.1, 0.0, 1.0),), fuse_below=0.9)
    sure, second = ByRowReader({2: "7ABC123"}, 0.99), ByRowReader({2: "7ABC123"})
    OcrPlateRecognizer(LineDetector(boxes), sure, options, second_reader=second).recognize(image)
    assert sure.calls == 1 and second.calls == 0
    unsure, second = ByRowReader({2: "7A8C123"}, 0.5), ByRowReader({2: "7ABC123"}, 0.95)
    plates = OcrPlateRecognizer(LineDetector(boxes), unsure, options, second_reader=second).recognize(image)
    assert second.calls == 1
    assert plates[0].plate == "7ABC123"  # the confident second reading wins the vote


def test_edge_proposer_finds_a_faint_plate_and_not_a_blank_wall() -> None:
    from platekeeper.recognition.proposals import EdgePlateProposer

    image = np.full((480, 640, 3), 120, np.uint8)
    cv2.rectangle(image, (236, 296), (404, 364), (235, 235, 235), -1)
    cv2.putText(image, "4ZWZ399", (266, 342), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (170, 150, 150), 2, cv2.LINE_AA)
    regions = EdgePlateProposer().detect(image)
    assert any(r.box.x <= 320 <= r.box.x + r.box.w and r.box.y <= 330 <= r.box.y + r.box.h for r in regions)
    assert EdgePlateProposer().detect(np.full((480, 640, 3), 90, np.uint8)) == []
