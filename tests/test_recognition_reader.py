"""The project's plate reader: the shipped ONNX model, its card, and a clean plate read exactly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from platekeeper.recognition.plate_input import ALPHABET
from platekeeper.recognition.plate_reader import MODEL_PATH, PlateReader


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader(1)


def plate_crop(text: str) -> np.ndarray:
    crop = np.full((60, 200, 3), 240, np.uint8)
    cv2.putText(crop, text, (12, 45), cv2.FONT_HERSHEY_DUPLEX, 1.3, (90, 30, 20), 3, cv2.LINE_AA)
    return crop


def test_model_and_card_ship_with_the_package() -> None:
    assert MODEL_PATH.is_file() and MODEL_PATH.stat().st_size < 10_000_000
    card = MODEL_PATH.with_suffix(".md").read_text(encoding="utf-8")
    for section in ("## Data", "## Training", "## Accuracy", "licence"):
        assert section in card


def test_reader_batches_and_skips_unusable_crops(reader: PlateReader) -> None:
    crops = [plate_crop("7ABC123"), np.zeros((2, 2, 3), np.uint8), plate_crop("5XYZ999")]
    probs = reader.probabilities([crops[0], crops[2]])
    assert probs.shape == (2, 32, len(ALPHABET) + 1)
    assert np.allclose(probs.sum(axis=-1), 1.0, atol=1e-4)
    reads = reader.read_many(crops)
    assert len(reads) == 3 and reads[1] is None
    assert reader.read(crops[0]) == reads[0]  # batching does not change a reading


@pytest.mark.req("CAP-1")
def test_clean_plate_is_read_exactly(reader: PlateReader) -> None:
    read = reader.read(plate_crop("7ABC123"))
    assert read is not None and read.text == "7ABC123"
    assert len(read.char_confidences) == 7 and min(read.char_confidences) > 0.5


def test_blank_crop_reads_nothing(reader: PlateReader) -> None:
    read = reader.read(np.full((40, 120, 3), 128, np.uint8))
    assert read is None or read.text == ""


def test_label_fixes_touch_training_crops_only() -> None:
    """The corrected labels (training/label_fixes.tsv) never touch the held-out split."""
    data = pytest.importorskip("training.data")
    fixes = data.label_fixes()
    assert fixes and all(v.isalnum() and (v.isupper() or v.isdigit()) for v in fixes.values())
    if not (data.CROPS / "labels.tsv").is_file():
        pytest.skip("us-plate-crops not present")
    labels = {p.relative_to(data.CROPS).as_posix(): plate for p, plate in data.crop_rows()}
    for path in fixes:
        assert path in labels and not data.crops_held_out(labels[path])


def test_rarity_factors_draw_rare_symbols_more_often() -> None:
    """``train.py --balance``: a crop holding a rare letter is drawn more often, capped; power 0 is off."""
    data = pytest.importorskip("training.data")
    labels = ["AB1", "AB1", "AB1", "AB1", "ABW", "ABW", "ABC", ""]  # A, B: 7 labels; 1: 4; W: 2; C: 1
    factors = data.rarity_factors(labels, 1.0, cap=3.0)
    assert list(factors[:4]) == [1.0] * 4 and factors[7] == 1.0  # only common symbols, or none
    assert factors[4] == factors[5] == 2.0  # median count 4 over W's 2
    assert factors[6] == 3.0  # C: 4 over 1, capped
    assert list(data.rarity_factors(labels, 0.0)) == [1.0] * len(labels)


def _scores(path: list[int], steps: int = 32) -> np.ndarray:
    """(steps, classes) scores whose best path is ``path`` (class indices, 0 the blank), then blanks."""
    probs = np.full((steps, len(ALPHABET) + 1), 0.01, np.float32)
    for t, k in enumerate(path + [0] * (steps - len(path))):
        probs[t, k] = 0.9
    return probs


def test_splice_cuts_between_characters_and_joins_two_real_crops() -> None:
    """``train.py --splice``: cuts come from the best CTC path, halfway between characters' columns; a crop
    the path misreads is not cut; a spliced crop is ``a``'s left part and ``b``'s right part, labelled so."""
    data = pytest.importorskip("training.data")
    splice = pytest.importorskip("training.splice")
    a_, b_, one = ALPHABET.index("A") + 1, ALPHABET.index("B") + 1, ALPHABET.index("1") + 1
    # A in columns 2-3, B in 8, 1 in 12 (a repeat after a blank is a second character)
    probs = _scores([0, 0, a_, a_, 0, 0, 0, 0, b_, 0, 0, 0, one])
    assert splice.character_cuts(probs, "AB1") == ((4 + 8) / 2 / 32, (9 + 12) / 2 / 32)
    assert splice.character_cuts(probs, "AB7") is None and splice.character_cuts(probs, "AB") is None
    left = np.full((40, 100, 3), 50, np.uint8)
    right = np.full((20, 100, 3), 200, np.uint8)  # half the height: scaled to 40 rows, 200 columns
    a = data.Real(left, (0, 0, 100, 40), "ABCD", False, "NEWYORK")
    b = data.Real(right, (0, 0, 100, 20), "WXYZ", False, "NEWYORK")
    rng = np.random.default_rng(0)
    for _ in range(20):
        out = splice.splice(rng, a, (0.25, 0.5, 0.75), b, (0.25, 0.5, 0.75))
        n_left = len(out.label) - len(out.label.lstrip("ABCD"))
        assert out.label[:n_left] == "ABCD"[:n_left] and "WXYZ".endswith(out.label[n_left:])
        assert 4 <= len(out.label) <= 8 and out.image.shape[0] == 40 and out.box == (0, 0, out.image.shape[1], 40)
        assert out.image.shape[1] == 25 * n_left + round(200 * (len(out.label) - n_left) / 4)
        assert out.image[:, : 25 * n_left].max() == 50  # a's part untouched; b's light matched to a's
        assert abs(float(out.image[:, 25 * n_left :].mean()) - 50) < 1
