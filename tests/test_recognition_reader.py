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


def test_settled_cuts_move_into_the_gap_between_characters() -> None:
    """``train.py --settle-cuts`` / ``--splice-stills``: a cut that falls inside a glyph moves to the blank
    column beside it, within reach; cuts stay in order and inside the box."""
    data = pytest.importorskip("training.data")
    splice = pytest.importorskip("training.splice")
    img = np.full((20, 100), 230, np.uint8)
    for x0 in (10, 40, 70):  # three dark glyphs drawn in strokes, 20 columns wide; gaps at 30-39 and 60-69
        img[4:16, x0 : x0 + 4] = img[4:16, x0 + 16 : x0 + 20] = img[4:6, x0 : x0 + 20] = img[14:16, x0 : x0 + 20] = 20
    real = data.Real(img, (0, 4, 100, 16), "ABC", True, "ucsd-stills")
    settled = splice.settle_cuts(real, (0.28, 0.56))  # both inside a glyph, a little left of the gap
    assert 30 <= settled[0] * 100 < 40 and 60 <= settled[1] * 100 < 70


def test_a_still_is_cut_in_a_view_of_its_box_and_splices_keep_the_box() -> None:
    """``--splice-stills``: a ucsd box is cut in a view with a band of plate around it, still marked tight;
    a spliced pair's box runs from the left of a's box to the right of b's."""
    data = pytest.importorskip("training.data")
    splice = pytest.importorskip("training.splice")
    photo = np.full((200, 300, 3), 128, np.uint8)
    still = data.Real(photo, (100, 80, 180, 100), "ABCD", True, "ucsd-stills")
    view = splice.cut_view(still)
    assert view.tight_text and view.label == "ABCD"
    assert view.image.shape[:2] == (20 + 2 * 6, 80 + 2 * 10) and view.box == (10, 6, 90, 26)
    rng = np.random.default_rng(1)
    for _ in range(10):
        out = splice.splice(rng, view, (0.3, 0.5, 0.7), view, (0.3, 0.5, 0.7))
        x0, y0, x1, y1 = out.box
        assert out.tight_text and (x0, y0, y1) == (10, 6, 26) and x1 == out.image.shape[1] - 10


def test_splicing_that_keeps_shares_leaves_uncut_crops_their_share_of_the_batch() -> None:
    """``--splice-keep-shares``: each drawn crop that has cuts is spliced with a partner of its source, so
    crops that are not cut (the ucsd stills) keep their share; drawn from the pool instead, they lose it."""
    pytest.importorskip("torch")
    data = pytest.importorskip("training.data")
    splice = pytest.importorskip("training.splice")
    train = pytest.importorskip("training.train")
    plate = np.full((40, 120, 3), 200, np.uint8)
    cut = [data.Real(plate, (0, 0, 120, 40), "ABC123", False, "NEWYORK") for _ in range(5)]
    uncut = [data.Real(plate, (0, 0, 120, 40), "7XYZ999", True, "ucsd-stills") for _ in range(5)]
    reals = cut + uncut
    splicer = splice.Splicer(reals, [(0.2, 0.35, 0.5, 0.65, 0.8)] * 5 + [None] * 5)

    class NoSynthetic:
        def draw(self, rng: np.random.Generator, n: int) -> tuple[list[np.ndarray], list[str]]:
            return [], []

    weights = np.full(10, 0.1)

    def stills_share(keep: bool) -> float:
        rng = np.random.default_rng(3)
        _, labels = train.make_batch(rng, NoSynthetic(), reals, weights, 200, 1.0, False, splicer, 1.0, keep)
        assert len(labels) == 200 and all(lab == "7XYZ999" or set(lab) <= set("ABC123") for lab in labels)
        return labels.count("7XYZ999") / 200

    assert 0.4 < stills_share(keep=True) < 0.6
    assert stills_share(keep=False) == 0.0
