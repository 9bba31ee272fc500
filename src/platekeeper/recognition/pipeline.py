"""Whole-image plate recognition: detect text lines, rectify, read, fuse readers, rank by syntax.

Stages:
1. a Detector proposes lines (plates, or one line of a stacked plate): the project's plate
   detector, then, only while no confident plate is found, the same at a finer scale and the
   general text detector;
2. each plate-like line is grown into a plate crop and rectified (deskew, perspective);
   small crops are upscaled by the reader's own input preparation;
3. the primary Reader (the project's plate reader) reads every line in one batch;
4. lines it is unsure of are read again by a second Reader (a general OCR), and the
   candidates of all readings are fused by weighted vote (``fusion.py``);
5. plate syntax (``syntax.py``) ranks candidates; stacked lines are joined into one plate.
"""

from __future__ import annotations

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
from platekeeper.recognition.fusion import Vote, fuse
from platekeeper.recognition.geometry import Quad, box_quad, grow, overlap, quad_size, rectify, union

# A crop of a text line: (margin, top, bottom) in line heights, see ``geometry.grow``.
CropSpec = tuple[float, float, float]


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
    # Crops the primary reader reads of each line. Detectors often cut the first character
    # (hence the margin); the plate reader was trained on crops from text-tight to whole-plate.
    crops: tuple[CropSpec, ...] = ((0.5, 0.2, 0.8), (0.5, 0.0, 1.0), (0.15, 0.2, 0.8))
    # The second reader runs on a line only when the first one's best candidate is below this.
    fuse_below: float = 0.9
    second_crops: tuple[CropSpec, ...] = ((0.5, 0.2, 0.8), (0.5, 0.0, 1.0))
    second_weight: float = 0.5  # a second-reader reading's vote, relative to a primary one's (1.0)
    fuse_lines: int = 3  # at most this many lines per image get the second reader


@dataclass(frozen=True)
class _Line:
    """A text line that may hold (part of) a plate: its geometry and its readings."""

    box: Box
    quad: Quad
    width: float
    height: float
    votes: tuple[Vote, ...] = ()


def _distinct(plates: list[PlateRead]) -> list[PlateRead]:
    """Most confident first; one read per plate text and per place in the image."""
    kept: list[PlateRead] = []
    for plate in sorted(plates, key=lambda p: (-p.confidence, p.box.x, p.box.y, p.plate)):
        if all(plate.plate != k.plate and overlap(plate.box, k.box) < 0.5 for k in kept):
            kept.append(plate)
    return kept


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
    shared = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    gap = b.y - (a.y + a.h)
    similar = 0.5 <= a.h / max(b.h, 1) <= 2.0
    return shared > 0.6 * min(a.w, b.w) and -0.3 * a.h <= gap <= 0.4 * a.h and similar


def _join(top: TextRead, bottom: TextRead) -> TextRead:
    n_top, n_bottom = len(top.text), len(bottom.text)
    confs = (*top.char_confidences, *bottom.char_confidences)
    alts = (*top.char_alternatives, *bottom.char_alternatives)
    conf = (top.confidence * n_top + bottom.confidence * n_bottom) / max(n_top + n_bottom, 1)
    return TextRead(top.text + bottom.text, conf, confs, alts)


def _join_votes(upper: tuple[Vote, ...], lower: tuple[Vote, ...]) -> tuple[Vote, ...]:
    """Readings of a stacked plate: each pair of readings taken with the same crop and reader."""
    out = []
    for a, b in zip(upper, lower, strict=False):
        if a.read is not None and b.read is not None and a.weight == b.weight:
            out.append(Vote(_join(a.read, b.read), a.weight))
    return tuple(out)


class OcrPlateRecognizer(PlateRecognizer):
    """Detect text, keep plate-like lines, rectify and read them, fuse readers, rank by syntax."""

    def __init__(
        self,
        detector: Detector,
        reader: Reader,
        options: RecognizerOptions | None = None,
        fallback_detector: Detector | tuple[Detector, ...] | None = None,
        second_reader: Reader | None = None,
    ) -> None:
        """``fallback_detector`` (e.g. the same model at a larger input size, then plate
        proposals) runs, in order, only while no confident plate has been found: small and
        faint plates, at little cost to the rest. ``second_reader`` re-reads the lines
        ``reader`` is unsure of; their votes are fused."""
        self.detector = detector
        self.reader = reader
        self.options = options or RecognizerOptions()
        if fallback_detector is None:
            fallback_detector = ()
        elif isinstance(fallback_detector, Detector):
            fallback_detector = (fallback_detector,)
        self.fallback_detectors: tuple[Detector, ...] = fallback_detector
        self.second_reader = second_reader

    def recognize(self, image: Image, top: int = 5) -> list[PlateRead]:
        if image.ndim == 2:
            image = np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
        if image.ndim != 3 or image.shape[0] < 8 or image.shape[1] < 8:
            return []
        plates = self._pass(image, self.detector, top)
        for fallback in self.fallback_detectors:
            if max((p.confidence for p in plates), default=0.0) >= self.options.fallback_below:
                break
            plates += self._pass(image, fallback, top)
        return _distinct(plates)

    def _pass(self, image: Image, detector: Detector, top: int) -> list[PlateRead]:
        lines = self._read(image, self._lines(detector.detect(image)))
        return self._plates(image, [line for line in lines if line.votes], top)

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

    def _read(self, image: Image, lines: list[_Line]) -> list[_Line]:
        """Every line read by the first reader (one batch); unsure ones by the second too."""
        opts = self.options
        first = _read_crops(self.reader, image, [ln.quad for ln in lines], opts.crops, 1.0)
        lines = [replace(ln, votes=v) for ln, v in zip(lines, first, strict=True)]
        if self.second_reader is None:
            return lines
        bests = [self._best(ln.votes) for ln in lines]
        unsure = [i for i, best in enumerate(bests) if best < opts.fuse_below][: opts.fuse_lines]
        # The second reader costs 15-35 ms a crop. A line it would not re-read already has its final
        # score; an unsure line whose score could not reach the best of those even if the second reader
        # agreed fully cannot become the image's top plate, so it is not re-read (the top plate and its
        # candidates stay exactly as with every unsure line re-read). Lines of a stacked pair are always
        # re-read: their joined plate fuses both lines' votes.
        sure = max(
            (bests[i] * _geometry_factor(ln.width, ln.height) for i, ln in enumerate(lines) if i not in unsure),
            default=0.0,
        )
        unsure = [i for i in unsure if self._ceiling(bests[i]) >= sure or self._stacked_any(lines, i)]
        second = _read_crops(
            self.second_reader, image, [lines[i].quad for i in unsure], opts.second_crops, opts.second_weight
        )
        for i, votes in zip(unsure, second, strict=True):
            lines[i] = replace(lines[i], votes=lines[i].votes + votes)
        return lines

    def _ceiling(self, best: float) -> float:
        """The most a line's best score can become once the second reader's votes are added: its
        candidates score at most 1 in each second reading (plus a margin for rounding)."""
        opts = self.options
        first, second = len(opts.crops), len(opts.second_crops) * opts.second_weight
        return (first * best + second) / (first + second) + 1e-3

    @staticmethod
    def _stacked_any(lines: list[_Line], i: int) -> bool:
        return any(j != i and (_is_stacked(lines[i], ln) or _is_stacked(ln, lines[i])) for j, ln in enumerate(lines))

    def _best(self, votes: tuple[Vote, ...]) -> float:
        cands = fuse(votes, self.options.min_chars, self.options.max_chars, 1)
        return cands[0].confidence if cands else 0.0

    def _plates(self, image: Image, lines: list[_Line], top: int) -> list[PlateRead]:
        out = []
        for line in lines:
            factor = _geometry_factor(line.width, line.height)
            plate = self._plate(image, line.votes, line.box, line.quad, factor, top)
            if plate is not None:
                out.append(plate)
        for upper in lines:
            for lower in lines:
                if upper is lower or not _is_stacked(upper, lower):
                    continue
                box = union(upper.box, lower.box)
                joined = self._plate(image, _join_votes(upper.votes, lower.votes), box, box_quad(box), 1.0, top)
                if joined is not None:
                    out.append(joined)
        return out

    def _plate(
        self, image: Image, votes: tuple[Vote, ...], box: Box, quad: Quad, factor: float, top: int
    ) -> PlateRead | None:
        opts = self.options
        candidates = [
            Candidate(c.plate, round(c.confidence * factor, 4))
            for c in fuse(votes, opts.min_chars, opts.max_chars, top)
        ]
        if not candidates or candidates[0].confidence < opts.min_confidence:
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


def _read_crops(
    reader: Reader, image: Image, quads: list[Quad], specs: tuple[CropSpec, ...], weight: float
) -> list[tuple[Vote, ...]]:
    """Each quad cropped per spec and read, all in one ``read_many`` call."""
    crops = [rectify(image, grow(q, *spec)) for q in quads for spec in specs]
    reads = reader.read_many(crops) if crops else []
    n = len(specs)
    return [tuple(Vote(r, weight) for r in reads[i * n : (i + 1) * n]) for i in range(len(quads))]


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


# What the plate reader reads of each line: a generous crop (half a height either side, 0.3 above and
# below: detectors cut first characters, and the reader knows whole plates) and a tighter one. Chosen on
# the ucsd-stills "dev-train" half only (see training/data.py), never on the half reported as held out.
PLATE_READER_CROPS: tuple[CropSpec, ...] = ((0.5, -0.3, 1.3), (0.2, 0.0, 1.0))


# The plate detector's second look, for frames where its 384-px pass found no confident plate. Frames
# padded to three times their size (plates at their pixel size in a wider view), dev-holdout: 59/133 read
# right without this pass, 109/133 with it at 1024 px, 106/133 at 1280 px.
FINER_PLATE_SIDE = 1024


def default_recognizer(threads: int | None = None) -> PlateRecognizer:
    """The bundled recognizer; models load on the first ``recognize`` call."""
    n = threads if threads is not None else default_threads()

    def build() -> PlateRecognizer:
        from platekeeper.recognition.plate_detector import PlateDetector
        from platekeeper.recognition.plate_reader import PlateReader
        from platekeeper.recognition.proposals import EdgePlateProposer
        from platekeeper.recognition.rapid import RapidDetector, RapidReader

        # The project's plate detector first (cheap, trained on plates); where it finds no confident
        # plate, the same detector at up to 1024 px (small plates in large frames: street photos), then
        # the general text detector at 480 px, then at 800 px, then edge proposals.
        plates = PlateDetector(n)
        text = RapidDetector(n, max_side=480, min_side=320, thresh=0.2, box_thresh=0.3)
        reader, ocr = PlateReader(n), RapidReader(n)
        plates.load()
        text.load()
        reader.load()
        ocr.load()
        options = RecognizerOptions(crops=PLATE_READER_CROPS)
        fallbacks = (plates.finer(FINER_PLATE_SIDE), text, text.resized(800, 800), EdgePlateProposer())
        return OcrPlateRecognizer(plates, reader, options, fallback_detector=fallbacks, second_reader=ocr)

    return LazyRecognizer(build)
