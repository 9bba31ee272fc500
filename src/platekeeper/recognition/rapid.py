"""Detector and Reader adapters over the PP-OCR ONNX models bundled with ``rapidocr``.

Only the model files of the ``rapidocr`` wheel are used; none of its code runs, so
nothing is downloaded and nothing is logged. Pre- and post-processing (DB text
detection, CTC decoding) are implemented here so the reader can report
per-character confidences and per-character alternatives.
"""

from __future__ import annotations

import copy
import importlib.util
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from platekeeper.recognition.base import Box, Detector, Image, Reader, TextRead, TextRegion
from platekeeper.recognition.ctc import decode_folded
from platekeeper.recognition.geometry import order_quad
from platekeeper.recognition.session import LazySession

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
PLATE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

FloatArray = NDArray[np.float32]


class ModelNotFoundError(RuntimeError):
    """The bundled rapidocr model files are missing (rapidocr not installed?)."""


def bundled_model_dir() -> Path:
    """Folder of the ONNX models shipped inside the installed ``rapidocr`` wheel."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError("the 'rapidocr' package is not installed; it ships the OCR models")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def _model_path(name: str, model_dir: Path | None) -> Path:
    path = (model_dir or bundled_model_dir()) / name
    if not path.is_file():
        raise ModelNotFoundError(f"OCR model file not found: {path}")
    return path


class RapidDetector(Detector):
    """DB text detector (PP-OCRv6 det, small).

    ``max_side`` bounds the network input (speed); ``min_side`` upsamples tiny images.
    """

    def __init__(
        self,
        threads: int | None = None,
        *,
        max_side: int = 480,
        min_side: int = 320,
        thresh: float = 0.3,
        box_thresh: float = 0.45,
        unclip_ratio: float = 1.6,
        model_dir: Path | None = None,
    ) -> None:
        self._model = LazySession(_model_path(DET_MODEL, model_dir), threads)
        self.max_side = max_side
        self.min_side = min_side
        self.thresh = thresh
        self.box_thresh = box_thresh
        self.unclip_ratio = unclip_ratio

    def load(self) -> None:
        self._model.get()

    def resized(self, max_side: int, min_side: int) -> RapidDetector:
        """The same model (loaded once) run at another input size."""
        other = copy.copy(self)
        other.max_side, other.min_side = max_side, min_side
        return other

    def _input_size(self, h: int, w: int) -> tuple[int, int]:
        scale = 1.0
        if max(h, w) > self.max_side:
            scale = self.max_side / max(h, w)
        elif max(h, w) < self.min_side:
            scale = self.min_side / max(h, w)
        rh = max(32, round(h * scale / 32) * 32)
        rw = max(32, round(w * scale / 32) * 32)
        return rh, rw

    def preprocess(self, image: Image) -> FloatArray:
        """The network input for a BGR image: (1, 3, H, W), sides multiples of 32, values in [-1, 1]."""
        h, w = image.shape[:2]
        rh, rw = self._input_size(h, w)
        resized = cv2.resize(image, (rw, rh), interpolation=cv2.INTER_LINEAR)
        x = (resized.astype(np.float32) / 255.0 - 0.5) / 0.5
        return np.ascontiguousarray(x.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)

    def probability_map(self, image: Image) -> FloatArray:
        pred = self._model.run(self.preprocess(image))
        out: FloatArray = pred[0, 0]
        return out

    def detect(self, image: Image) -> list[TextRegion]:
        if image.ndim != 3 or image.shape[0] < 4 or image.shape[1] < 4:
            return []
        h, w = image.shape[:2]
        prob = self.probability_map(image)
        mask: NDArray[Any] = cv2.dilate((prob > self.thresh).astype(np.uint8), np.ones((2, 2), np.uint8))
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        sx, sy = w / prob.shape[1], h / prob.shape[0]
        regions = []
        for contour in contours[:1000]:
            region = self._region(prob, contour, sx, sy, w, h)
            if region is not None:
                regions.append(region)
        regions.sort(key=lambda r: (r.box.y, r.box.x))
        return regions

    def _region(
        self, prob: FloatArray, contour: NDArray[Any], sx: float, sy: float, w: int, h: int
    ) -> TextRegion | None:
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < 3:
            return None
        score = _box_score(prob, cv2.boxPoints(((cx, cy), (rw, rh), angle)))
        if score < self.box_thresh:
            return None
        dist = rw * rh * self.unclip_ratio / (2 * (rw + rh))
        pts = cv2.boxPoints(((cx, cy), (rw + 2 * dist, rh + 2 * dist), angle))
        pts[:, 0] = np.clip(pts[:, 0] * sx, 0, w - 1)
        pts[:, 1] = np.clip(pts[:, 1] * sy, 0, h - 1)
        quad = order_quad(pts.astype(np.float32))
        x0, y0 = np.floor(quad.min(axis=0)).astype(int)
        x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
        if x1 - x0 <= 3 or y1 - y0 <= 3:
            return None
        return TextRegion(
            box=Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0)),
            quad=tuple((float(px), float(py)) for px, py in quad),
            score=float(score),
        )


def _box_score(prob: FloatArray, pts: NDArray[Any]) -> float:
    ph, pw = prob.shape
    x0 = int(np.clip(np.floor(pts[:, 0].min()), 0, pw - 1))
    x1 = int(np.clip(np.ceil(pts[:, 0].max()), 0, pw - 1))
    y0 = int(np.clip(np.floor(pts[:, 1].min()), 0, ph - 1))
    y1 = int(np.clip(np.ceil(pts[:, 1].max()), 0, ph - 1))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    shifted = (pts - np.array([x0, y0], dtype=np.float32)).astype(np.int32)
    cv2.fillPoly(mask, [shifted], 1)
    return float(cv2.mean(prob[y0 : y1 + 1, x0 : x1 + 1], mask)[0])


class RapidReader(Reader):
    """CTC text recogniser (PP-OCRv6 rec, small), decoding to a restricted alphabet.

    With ``alphabet`` set (default: A–Z and 0–9), lower-case letters are folded into
    upper-case ones and every other symbol is treated as a separator, so the read is
    plate text directly. ``alphabet=None`` returns the model's raw text.
    """

    HEIGHT = 48
    MIN_WIDTH = 160

    def __init__(
        self,
        threads: int | None = None,
        *,
        alphabet: str | None = PLATE_ALPHABET,
        alternatives: int = 3,
        model_dir: Path | None = None,
    ) -> None:
        self._model = LazySession(_model_path(REC_MODEL, model_dir), threads)
        self.alphabet = alphabet
        self.n_alternatives = alternatives
        self._charset: list[str] | None = None
        self._fold: list[list[int]] | None = None

    def load(self) -> None:
        self._setup()

    def _setup(self) -> tuple[list[str], list[list[int]] | None]:
        if self._charset is None:
            meta = self._model.get().get_modelmeta().custom_metadata_map
            charset = ["<blank>", *meta["character"].splitlines(), " "]
            if self.alphabet is not None:
                self._fold = self._fold_index(charset, self.alphabet)
            self._charset = charset
        return self._charset, self._fold

    @staticmethod
    def _fold_index(charset: list[str], alphabet: str) -> list[list[int]]:
        """For each symbol of the alphabet, the model classes that fold into it (A and a)."""
        pos = {c: i for i, c in enumerate(alphabet)}
        groups: list[list[int]] = [[] for _ in alphabet]
        for i, ch in enumerate(charset[1:], start=1):
            key = ch.upper() if len(ch) == 1 else ch
            if key in pos:
                groups[pos[key]].append(i)
        return groups

    def preprocess(self, crop: Image) -> FloatArray:
        h, w = crop.shape[:2]
        rw = max(8, math.ceil(self.HEIGHT * w / max(h, 1)))
        resized = cv2.resize(crop, (rw, self.HEIGHT), interpolation=cv2.INTER_LINEAR)
        x = (resized.astype(np.float32) / 255.0 - 0.5) / 0.5
        width = max(rw, self.MIN_WIDTH)
        padded = np.zeros((3, self.HEIGHT, width), dtype=np.float32)
        padded[:, :, :rw] = x.transpose(2, 0, 1)
        return padded[np.newaxis]

    def read(self, crop: Image) -> TextRead | None:
        if crop.ndim != 3 or crop.shape[0] < 4 or crop.shape[1] < 4:
            return None
        charset, fold = self._setup()
        probs = self._model.run(self.preprocess(crop))[0]
        if fold is None or self.alphabet is None:
            return _decode_raw(probs, charset)
        return decode_folded(_fold(probs, fold), self.alphabet, self.n_alternatives)


def _fold(probs: FloatArray, groups: list[list[int]]) -> FloatArray:
    """Per-frame probabilities of blank, each alphabet symbol, and 'any other symbol'."""
    folded = np.zeros((probs.shape[0], len(groups) + 2), dtype=np.float32)
    folded[:, 0] = probs[:, 0]
    for k, idx in enumerate(groups, start=1):
        if idx:
            folded[:, k] = probs[:, idx].sum(axis=1)
    folded[:, -1] = np.clip(1.0 - folded[:, :-1].sum(axis=1), 0.0, 1.0)
    return folded


def _decode_raw(probs: FloatArray, charset: list[str]) -> TextRead | None:
    idx = probs.argmax(axis=1)
    conf = probs.max(axis=1)
    chars: list[str] = []
    confs: list[float] = []
    prev = -1
    for t, k in enumerate(idx):
        if k != prev and k != 0:
            chars.append(charset[k])
            confs.append(float(conf[t]))
        prev = int(k)
    if not chars:
        return None
    return TextRead("".join(chars), float(np.mean(confs)), tuple(confs))
