"""Whole-image plate recognition composed of a text Detector and a Reader."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from platekeeper.recognition import syntax
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
    VehicleAttributes,
)
from platekeeper.recognition.colour import vehicle_colour

Quad = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class RecognizerOptions:
    max_regions: int = 8  # text regions read per image, most plate-like first
    min_text_height: int = 8  # pixels
    min_aspect: float = 1.1  # width / height of a detected text line
    max_aspect: float = 12.0
    min_confidence: float = 0.30  # plates below this are dropped
    fallback_below: float = 0.6  # run the fallback detector when no plate scores this much
    min_chars: int = 3
    max_chars: int = 10
    # Crops read from each line, as (margin, top, bottom): the margin added left and right in
    # line heights (detectors often cut the first character), then the vertical span kept as
    # fractions of the height (the box often takes in frame text or script above and below).
    # Every reading yields candidates; the plate syntax picks among them.
    crops: tuple[tuple[float, float, float], ...] = ((0.5, 0.2, 0.8), (0.5, 0.0, 1.0), (0.15, 0.2, 0.8))


@dataclass(frozen=True)
class _Line:
    """A text line that may hold (part of) a plate: its geometry and its reading."""

    box: Box
    quad: Quad
    width: float
    height: float
    reads: tuple[TextRead, ...] = ()


def _dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def quad_size(quad: Quad) -> tuple[float, float]:
    tl, tr, br, bl = quad[:4]
    return max(_dist(tl, tr), _dist(bl, br)), max(_dist(tl, bl), _dist(tr, br))


def widen(quad: Quad, amount: float) -> Quad:
    """The quad stretched along its text direction by ``amount`` × its height on each side."""
    tl, tr, br, bl = (np.array(p, dtype=np.float64) for p in quad[:4])
    w, h = quad_size(quad)
    if w <= 0 or amount <= 0:
        return quad
    ux = (tr - tl + br - bl) / 2
    ux /= max(float(np.linalg.norm(ux)), 1e-6)
    d = ux * amount * h
    pts = (tl - d, tr + d, br + d, bl - d)
    return tuple((float(p[0]), float(p[1])) for p in pts)


def rectify(image: Image, quad: Quad) -> Image:
    """Warp the quad (clockwise from top-left) to an upright rectangle."""
    w, h = quad_size(quad)
    wi, hi = max(4, round(w)), max(4, round(h))
    src = np.array(quad[:4], dtype=np.float32)
    dst = np.array([[0, 0], [wi - 1, 0], [wi - 1, hi - 1], [0, hi - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(image, matrix, (wi, hi), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(out, dtype=np.uint8)


def _overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area."""
    iw = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    ih = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if iw <= 0 or ih <= 0:
        return 0.0
    return iw * ih / max(1, min(a.w * a.h, b.w * b.h))


def _distinct(plates: list[PlateRead]) -> list[PlateRead]:
    """Most confident first; one read per plate text and per place in the image."""
    kept: list[PlateRead] = []
    for plate in sorted(plates, key=lambda p: (-p.confidence, p.box.x, p.box.y, p.plate)):
        if all(plate.plate != k.plate and _overlap(plate.box, k.box) < 0.5 for k in kept):
            kept.append(plate)
    return kept


def _union(a: Box, b: Box) -> Box:
    x0, y0 = min(a.x, b.x), min(a.y, b.y)
    x1, y1 = max(a.x + a.w, b.x + b.w), max(a.y + a.h, b.y + b.h)
    return Box(x0, y0, x1 - x0, y1 - y0)


def _box_quad(box: Box) -> Quad:
    x0, y0, x1, y1 = float(box.x), float(box.y), float(box.x + box.w), float(box.y + box.h)
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def _geometry_factor(width: float, height: float) -> float:
    """Plate text lines are a few times wider than tall."""
    aspect = width / max(height, 1.0)
    if 1.8 <= aspect <= 8.0:
        return 1.0
    return 0.85


def _is_stacked(top: _Line, bottom: _Line) -> bool:
    """Two lines stacked into one plate: overlapping columns, small gap, similar size."""
    a, b = top.box, bottom.box
    if b.y <= a.y:
        return False
    overlap = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    gap = b.y - (a.y + a.h)
    similar = 0.5 <= a.h / max(b.h, 1) <= 2.0
    return overlap > 0.6 * min(a.w, b.w) and -0.3 * a.h <= gap <= 0.4 * a.h and similar


def _join(top: TextRead, bottom: TextRead) -> TextRead:
    n_top, n_bottom = len(top.text), len(bottom.text)
    confs = (*top.char_confidences, *bottom.char_confidences)
    alts = (*top.char_alternatives, *bottom.char_alternatives)
    conf = (top.confidence * n_top + bottom.confidence * n_bottom) / max(n_top + n_bottom, 1)
    return TextRead(top.text + bottom.text, conf, confs, alts)


class OcrPlateRecognizer(PlateRecognizer):
    """Detect text, keep plate-like lines, rectify and read them, rank by plate syntax."""

    def __init__(
        self,
        detector: Detector,
        reader: Reader,
        options: RecognizerOptions | None = None,
        fallback_detector: Detector | None = None,
    ) -> None:
        """``fallback_detector`` (e.g. the same model at a larger input size) runs only
        when the first pass finds no confident plate: small plates, at little cost."""
        self.detector = detector
        self.reader = reader
        self.options = options or RecognizerOptions()
        self.fallback_detector = fallback_detector

    def recognize(self, image: Image, top: int = 5) -> list[PlateRead]:
        if image.ndim == 2:
            image = np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
        if image.ndim != 3 or image.shape[0] < 8 or image.shape[1] < 8:
            return []
        plates = self._pass(image, self.detector, top)
        best = max((p.confidence for p in plates), default=0.0)
        if self.fallback_detector is not None and best < self.options.fallback_below:
            plates += self._pass(image, self.fallback_detector, top)
        return _distinct(plates)

    def _pass(self, image: Image, detector: Detector, top: int) -> list[PlateRead]:
        lines = [self._read(image, line) for line in self._lines(detector.detect(image))]
        return self._plates(image, [line for line in lines if line.reads], top)

    def _lines(self, regions: list[TextRegion]) -> list[_Line]:
        opts = self.options
        lines = []
        for region in regions:
            width, height = quad_size(region.quad)
            if height < opts.min_text_height or not opts.min_aspect <= width / height <= opts.max_aspect:
                continue
            lines.append(_Line(region.box, region.quad, width, height))
        # Larger, more confident-looking lines first; cap the reading work.
        lines.sort(key=lambda ln: -ln.height * _geometry_factor(ln.width, ln.height))
        return lines[: opts.max_regions]

    def _read(self, image: Image, line: _Line) -> _Line:
        reads = []
        rectified: dict[float, Image] = {}
        for margin, top, bottom in self.options.crops:
            if margin not in rectified:
                rectified[margin] = rectify(image, widen(line.quad, margin))
            crop = rectified[margin]
            h = crop.shape[0]
            y0, y1 = round(top * h), round(bottom * h)
            if y1 - y0 < 4:
                continue
            read = self.reader.read(np.ascontiguousarray(crop[y0:y1]))
            if read is not None:
                reads.append(read)
        return replace(line, reads=tuple(reads))

    def _plates(self, image: Image, lines: list[_Line], top: int) -> list[PlateRead]:
        out = []
        for line in lines:
            factor = _geometry_factor(line.width, line.height)
            plate = self._plate(image, line.reads, line.box, line.quad, factor, top)
            if plate is not None:
                out.append(plate)
        for upper in lines:
            for lower in lines:
                if upper is lower or not _is_stacked(upper, lower):
                    continue
                box = _union(upper.box, lower.box)
                joined_reads = tuple(_join(a, b) for a, b in zip(upper.reads, lower.reads, strict=False))
                joined = self._plate(image, joined_reads, box, _box_quad(box), 1.0, top)
                if joined is not None:
                    out.append(joined)
        return out

    def _candidates(self, reads: tuple[TextRead, ...], factor: float, top: int) -> list[Candidate]:
        """Candidates of every reading of one line, merged: a plate keeps its best score."""
        opts = self.options
        merged: dict[str, float] = {}
        for read in reads:
            text = syntax.normalise(read.text)
            if not opts.min_chars <= len(text) <= opts.max_chars or syntax.is_stopword(text):
                continue
            if text != read.text:
                read = TextRead(text, read.confidence)
            cands = syntax.plate_candidates(
                read.text, read.confidence, read.char_confidences, read.char_alternatives, top=max(top, 5)
            )
            if any(syntax.is_stopword(c.plate) for c in cands[:5]):
                continue  # a word such as a make or model name, misread: "TOV0TA"
            for c in cands:
                merged[c.plate] = max(merged.get(c.plate, 0.0), round(c.confidence * factor, 4))
        ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))
        return [Candidate(p, c) for p, c in ranked[: max(top, 1)]]

    def _plate(
        self, image: Image, reads: tuple[TextRead, ...], box: Box, quad: Quad, factor: float, top: int
    ) -> PlateRead | None:
        candidates = self._candidates(reads, factor, top)
        if not candidates or candidates[0].confidence < self.options.min_confidence:
            return None
        best = candidates[0]
        return PlateRead(
            plate=best.plate,
            confidence=best.confidence,
            candidates=tuple(candidates[:top]),
            box=box,
            region=syntax.region_guess(best.plate),
            attributes=VehicleAttributes(colour=vehicle_colour(image, box)),
            crop=rectify(image, quad),
        )


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class LazyRecognizer(PlateRecognizer):
    """Builds the real recognizer (and loads the models) on first use."""

    def __init__(self, factory: Callable[[], PlateRecognizer]) -> None:
        self._factory = factory
        self._inner: PlateRecognizer | None = None
        self._lock = threading.Lock()

    def load(self) -> PlateRecognizer:
        if self._inner is None:
            with self._lock:
                if self._inner is None:
                    self._inner = self._factory()
        return self._inner

    def recognize(self, image: Image, top: int = 5) -> list[PlateRead]:
        return self.load().recognize(image, top)


def default_recognizer(threads: int | None = None) -> PlateRecognizer:
    """The bundled OCR recognizer; models load on the first ``recognize`` call."""
    n = threads if threads is not None else default_threads()

    def build() -> PlateRecognizer:
        from platekeeper.recognition.rapid import RapidDetector, RapidReader

        detector, reader = RapidDetector(n, max_side=480, min_side=320), RapidReader(n)
        detector.load()
        reader.load()
        return OcrPlateRecognizer(detector, reader, fallback_detector=detector.resized(800, 800))

    return LazyRecognizer(build)
