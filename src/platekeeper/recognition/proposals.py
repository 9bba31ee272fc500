"""Plate proposals from image structure, for plates the text detector misses.

Washed-out or low-contrast plates often escape a general text detector, yet their
characters still make a dense row of vertical edges inside a bright rectangle. This
classic localisation (vertical Sobel edges, Otsu threshold, horizontal closing, plate-shaped
blobs) proposes such regions; the plate reader then decides whether they hold a plate. It
is cheap (a few milliseconds) and runs only as a last resort.
"""

from __future__ import annotations

import cv2
import numpy as np

from platekeeper.recognition.base import Box, Detector, Image, TextRegion
from platekeeper.recognition.geometry import order_quad


class EdgePlateProposer(Detector):
    """Regions dense in vertical edges with a plate's shape and size."""

    def __init__(
        self,
        max_side: int = 640,
        min_height: int = 8,
        max_height_frac: float = 0.25,
        aspect: tuple[float, float] = (1.5, 7.0),
        limit: int = 8,
    ) -> None:
        self.max_side = max_side
        self.min_height = min_height
        self.max_height_frac = max_height_frac
        self.aspect = aspect
        self.limit = limit

    def detect(self, image: Image) -> list[TextRegion]:
        if image.ndim != 3 or min(image.shape[:2]) < 16:
            return []
        h, w = image.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = cv2.resize(image, (round(w * scale), round(h * scale))) if scale < 1 else image
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        gray = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(gray)
        edges = cv2.convertScaleAbs(cv2.Sobel(gray, cv2.CV_16S, 1, 0, ksize=3))
        _, binary = cv2.threshold(edges, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        k = max(9, round(small.shape[1] / 45))
        closed = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, 3)))
        closed = cv2.morphologyEx(closed, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
        contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        scored = []
        for contour in contours:
            region = self._region(contour, binary, small.shape[0], 1 / scale)
            if region is not None:
                scored.append(region)
        scored.sort(key=lambda r: -r.score)
        return scored[: self.limit]

    def _region(self, contour: np.ndarray, binary: np.ndarray, height: int, inv: float) -> TextRegion | None:
        x, y, bw, bh = cv2.boundingRect(contour)
        if bh < self.min_height or bh > self.max_height_frac * height:
            return None
        if not self.aspect[0] <= bw / bh <= self.aspect[1]:
            return None
        density = float(binary[y : y + bh, x : x + bw].mean()) / 255.0
        if not 0.15 <= density <= 0.75:  # character strokes, not a solid edge or a speckle
            return None
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        pts = cv2.boxPoints(((cx, cy), (rw, rh), angle)) * inv
        quad = order_quad(pts)
        box = Box(round(x * inv), round(y * inv), round(bw * inv), round(bh * inv))
        return TextRegion(box, tuple((float(px), float(py)) for px, py in quad), density)

