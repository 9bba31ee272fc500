"""End-to-end recognition with the bundled OCR models, and the `platekeeper read` contract."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from platekeeper.recognition.base import (
    Box,
    Candidate,
    Detector,
    Image,
    PlateRead,
    PlateRecognizer,
    Reader,
    TextRead,
    TextRegion,
)
from platekeeper.recognition.pipeline import OcrPlateRecognizer, RecognizerOptions
from platekeeper.recognition.runner import iter_contracts, iter_image_files, plate_contract, read_contract

PLATE = "7ABC123"


def synthetic_car(text: str = PLATE, font: int = cv2.FONT_HERSHEY_DUPLEX, seed: int = 0) -> Image:
    """A grey scene with a dark-blue 'car' and a white plate with dark characters."""
    rng = np.random.default_rng(seed)
    image = np.full((480, 640, 3), 110, dtype=np.uint8)
    image += rng.integers(0, 12, size=image.shape, dtype=np.uint8)
    cv2.rectangle(image, (40, 100), (600, 440), (120, 40, 20), -1)  # car body (BGR: dark blue)
    cv2.rectangle(image, (230, 260), (410, 345), (245, 245, 245), -1)  # plate
    cv2.rectangle(image, (230, 260), (410, 345), (60, 60, 60), 2)
    cv2.putText(image, text, (242, 320), font, 1.15, (40, 20, 20), 3, cv2.LINE_AA)
    return image


def plate_free(seed: int = 1) -> Image:
    rng = np.random.default_rng(seed)
    gradient = np.tile(np.linspace(30, 220, 640, dtype=np.float64), (480, 1))
    noise = rng.normal(0, 6, size=(480, 640))
    grey = np.clip(gradient + noise, 0, 255).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


@pytest.fixture(scope="module")
def recognizer(shared_recognizer: PlateRecognizer) -> PlateRecognizer:
    return shared_recognizer


def _write(path: Path, image: Image) -> Path:
    assert cv2.imwrite(str(path), image)
    return path


def _check_contract(obj: dict[str, object]) -> None:
    assert set(obj) <= {"image", "ms", "plates", "error"}
    assert isinstance(obj["image"], str)
    assert isinstance(obj["ms"], float) and obj["ms"] >= 0
    assert round(obj["ms"], 1) == obj["ms"]
    plates = obj["plates"]
    assert isinstance(plates, list)
    for p in plates:
        assert set(p) == {"plate", "confidence", "candidates", "box", "region"}
        assert isinstance(p["plate"], str) and p["plate"].isascii() and p["plate"].isalnum()
        assert p["plate"] == p["plate"].upper()
        assert isinstance(p["confidence"], float) and 0 <= p["confidence"] <= 1
        assert round(p["confidence"], 4) == p["confidence"]
        assert len(p["box"]) == 4 and all(isinstance(v, int) for v in p["box"])
        assert p["region"] is None or isinstance(p["region"], str)
        for c in p["candidates"]:
            assert set(c) == {"plate", "confidence"}
            assert c["plate"].isalnum() and c["plate"] == c["plate"].upper()
    confidences = [p["confidence"] for p in plates]
    assert confidences == sorted(confidences, reverse=True)
    json.dumps(obj)


# --- contract, without models ---------------------------------------------------------------


class FixedRecognizer(PlateRecognizer):
    def recognize(self, image: Image, top: int = 5) -> list[PlateRead]:
        cands = (Candidate("7ABC123", 0.912345), Candidate("7A8C123", 0.3), Candidate("1ABC123", 0.1))
        return [PlateRead("7ABC123", 0.912345, cands[:top], Box(1, 2, 30, 10), "us-ca")]


@pytest.mark.req("CAP-1")
def test_contract_shape_and_rounding(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.png", plate_free())
    obj = read_contract(FixedRecognizer(), path, top=2)
    _check_contract(obj)
    assert obj["image"] == str(path)
    assert obj["plates"] == [
        {
            "plate": "7ABC123",
            "confidence": 0.9123,
            "candidates": [
                {"plate": "7ABC123", "confidence": 0.9123},
                {"plate": "7A8C123", "confidence": 0.3},
            ],
            "box": [1, 2, 30, 10],
            "region": "us-ca",
        }
    ]


def test_plate_contract_caps_candidates() -> None:
    plate = FixedRecognizer().recognize(plate_free())[0]
    assert len(plate_contract(plate, top=1)["candidates"]) == 1


@pytest.mark.req("CAP-1")
def test_undecodable_file_gives_error_and_batch_continues(tmp_path: Path) -> None:
    bad = tmp_path / "a_bad.jpg"
    bad.write_bytes(b"this is not a picture")
    empty = tmp_path / "b_empty.png"
    empty.write_bytes(b"")
    good = _write(tmp_path / "c_good.png", plate_free())
    out = list(iter_contracts(FixedRecognizer(), [tmp_path], top=5, progress=False))
    assert [o["image"] for o in out] == [str(bad), str(empty), str(good)]
    assert out[0]["plates"] == [] and "not an image" in out[0]["error"]
    assert out[1]["plates"] == [] and "empty" in out[1]["error"]
    assert "error" not in out[2] and out[2]["plates"]
    for o in out:
        _check_contract(o)


def test_iter_image_files_sorted_recursive(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ["b.jpg", "a.PNG", "notes.txt", "sub/c.jpeg", ".hidden/d.jpg", "sub/.e.jpg"]:
        (tmp_path / name).write_bytes(b"x")
    files = list(iter_image_files([tmp_path]))
    assert files == [tmp_path / "a.PNG", tmp_path / "b.jpg", tmp_path / "sub" / "c.jpeg"]
    assert list(iter_image_files([tmp_path / "notes.txt"])) == [tmp_path / "notes.txt"]


# --- with the OCR models ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.req("CAP-1", "CAP-2")
@pytest.mark.parametrize("font", [cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_SIMPLEX])
def test_synthetic_plate_is_read_exactly(recognizer: PlateRecognizer, font: int) -> None:
    image = synthetic_car(font=font)
    plates = recognizer.recognize(image, top=5)
    assert plates, "no plate found"
    best = plates[0]
    assert best.plate == PLATE
    assert best.region == "us-ca"
    assert best.candidates[0].plate == PLATE and best.candidates[0].confidence == best.confidence
    assert best.confidence > 0.8
    x, y, w, h = best.box.as_list()
    assert 230 < x + w / 2 < 410 and 260 < y + h / 2 < 345, "box centre inside the plate"
    assert x >= 190 and x + w <= 450 and y >= 230 and y + h <= 370, "box near the plate"
    assert best.crop is not None and best.crop.ndim == 3 and best.crop.dtype == np.uint8
    assert best.attributes.colour == "blue"


@pytest.mark.slow
@pytest.mark.req("CAP-1")
def test_read_contract_on_a_file(recognizer: PlateRecognizer, tmp_path: Path) -> None:
    path = _write(tmp_path / "car.png", synthetic_car())
    obj = read_contract(recognizer, path, top=3)
    _check_contract(obj)
    assert obj["plates"][0]["plate"] == PLATE
    assert obj["plates"][0]["region"] == "us-ca"
    assert 1 <= len(obj["plates"][0]["candidates"]) <= 3


@pytest.mark.slow
def test_plate_free_image_gives_no_plates(recognizer: PlateRecognizer, tmp_path: Path) -> None:
    path = _write(tmp_path / "gradient.png", plate_free())
    obj = read_contract(recognizer, path)
    assert obj["plates"] == [] and "error" not in obj
    noise = np.random.default_rng(3).integers(0, 256, size=(480, 640, 3), dtype=np.uint8)
    assert recognizer.recognize(noise) == []


@pytest.mark.slow
def test_recognition_is_deterministic(recognizer: PlateRecognizer, tmp_path: Path) -> None:
    path = _write(tmp_path / "car.png", synthetic_car(seed=5))
    first, second = read_contract(recognizer, path), read_contract(recognizer, path)
    first.pop("ms")
    second.pop("ms")
    assert first == second


@pytest.mark.slow
def test_tiny_and_grey_images_do_not_fail(recognizer: PlateRecognizer) -> None:
    assert recognizer.recognize(np.zeros((3, 3, 3), dtype=np.uint8)) == []
    grey = cv2.cvtColor(synthetic_car(), cv2.COLOR_BGR2GRAY)
    assert recognizer.recognize(grey)[0].plate == PLATE


# --- the pipeline over stub models (the seam) -------------------------------------------------


class StubDetector(Detector):
    def __init__(self, boxes: list[Box]) -> None:
        self.boxes = boxes

    def detect(self, image: Image) -> list[TextRegion]:
        return [
            TextRegion(b, ((b.x, b.y), (b.x + b.w, b.y), (b.x + b.w, b.y + b.h), (b.x, b.y + b.h)), 0.9)
            for b in self.boxes
        ]


class StubReader(Reader):
    """Reads the text whose index is the crop's brightness / 20."""

    TEXTS = ("CALIFORNIA", "7A8C123", "TOY0TA", "5XYZ999")

    def read(self, crop: Image) -> TextRead | None:
        text = self.TEXTS[round(float(crop.mean()) / 20) % len(self.TEXTS)]
        confs = tuple(0.55 if ch == "8" else 0.99 for ch in text)
        return TextRead(text, 0.9, confs)


def test_pipeline_over_stub_models_rejects_words_and_fixes_syntax() -> None:
    image = np.zeros((200, 400, 3), dtype=np.uint8)
    boxes = [Box(10 + 95 * i, 50, 80, 20) for i in range(4)]
    for i, b in enumerate(boxes):
        image[:, max(0, b.x - 15) : b.x + b.w + 15] = 20 * i  # brightness selects the stub's text
    recognizer = OcrPlateRecognizer(StubDetector(boxes), StubReader(), RecognizerOptions(crops=((0.0, 0.0, 1.0),)))
    plates = recognizer.recognize(image, top=3)
    assert [p.plate for p in plates] == ["5XYZ999", "7ABC123"] or [p.plate for p in plates] == [
        "7ABC123",
        "5XYZ999",
    ]
    best = {p.plate: p for p in plates}["7ABC123"]
    assert best.region == "us-ca" and best.box == boxes[1]
    assert "7A8C123" in [c.plate for c in best.candidates]
    assert len(best.candidates) <= 3


def two_line_car(top: str = "7AB", bottom: str = "1234") -> Image:
    """A scene with a square-ish plate carrying two lines of large characters (motorcycle style)."""
    image = np.full((480, 640, 3), 100, dtype=np.uint8)
    cv2.rectangle(image, (150, 120), (490, 440), (40, 40, 150), -1)  # body (BGR: red)
    cv2.rectangle(image, (250, 230), (390, 345), (245, 245, 245), -1)  # plate
    cv2.rectangle(image, (250, 230), (390, 345), (60, 60, 60), 2)
    for text, y in ((top, 280), (bottom, 332)):
        (w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, 1.3, 3)
        cv2.putText(image, text, (320 - w // 2, y), cv2.FONT_HERSHEY_DUPLEX, 1.3, (40, 20, 20), 3, cv2.LINE_AA)
    return image


@pytest.mark.slow
@pytest.mark.req("CAP-1")
def test_two_line_plate_reads_top_then_bottom(recognizer: PlateRecognizer) -> None:
    plates = recognizer.recognize(two_line_car(), top=5)
    assert plates, "no plate found"
    assert plates[0].plate == "7AB1234"


UCSD = Path(__file__).resolve().parents[2] / "shared" / "data" / "ucsd-stills" / "images"


@pytest.mark.slow
@pytest.mark.req("CAP-1")
@pytest.mark.skipif(not (UCSD / "cars026.jpg").is_file(), reason="../shared/data/ucsd-stills not present")
def test_known_photograph_is_read(recognizer: PlateRecognizer) -> None:
    image = cv2.imread(str(UCSD / "cars026.jpg"))
    plates = recognizer.recognize(image, top=5)
    assert plates and plates[0].plate == "4YTD483"
