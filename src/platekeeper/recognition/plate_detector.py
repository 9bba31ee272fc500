"""The project's own plate detector: a small network that marks the characters of licence plates.

It is trained by ``training/detector.py`` on parked-car photos with rendered plates pasted in
(see ``models/plate_detector.md``), and it is several times cheaper than the general text
detector because it runs at a smaller input and looks only for plates. Its output is a
probability map at a quarter of the input's resolution; each region above ``thresh`` becomes a
text-line quad, the same kind of region the pipeline grows into plate crops.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from platekeeper.recognition.base import Box, Detector, Image, TextRegion
from platekeeper.recognition.geometry import order_quad
from platekeeper.recognition.session import FloatArray, LazySession

MODEL_PATH = Path(__file__).resolve().parent / "models" / "plate_detector.onnx"


class PlateDetector(Detector):
    """Plate text lines from ``plate_detector.onnx``, most confident first.

    ``max_side`` bounds the network input (a 640 x 480 image is read at 384 x 288);
    ``thresh`` is the map's threshold and ``box_thresh`` the least mean probability of a region.
    ``only_above`` makes it look only at images whose longer side exceeds that many pixels (see
    ``finer``)."""

    def __init__(
        self,
        threads: int | None = None,
        *,
        max_side: int = 384,
        thresh: float = 0.5,
        box_thresh: float = 0.6,
        min_height: float = 3.0,
        limit: int = 8,
        model_path: Path | None = None,
        only_above: int = 0,
    ) -> None:
        self._model = LazySession(model_path or MODEL_PATH, threads)
        self.max_side = max_side
        self.thresh = thresh
        self.box_thresh = box_thresh
        self.min_height = min_height  # of a region in input pixels
        self.limit = limit
        self.only_above = only_above

    def finer(self, max_side: int) -> PlateDetector:
        """The same model (loaded once) at a larger input, for small plates in large frames; it looks
        only at images larger than this detector's input, which this detector already saw whole."""
        other = copy.copy(self)
        other.max_side, other.only_above = max_side, self.max_side
        return other

    def load(self) -> None:
        self._model.get()

    def input_size(self, h: int, w: int) -> tuple[int, int]:
        """(height, width) of the network input: at most ``max_side``, multiples of 32."""
        scale = min(1.0, self.max_side / max(h, w))
        return max(32, round(h * scale / 32) * 32), max(32, round(w * scale / 32) * 32)

    def probability_map(self, image: Image) -> FloatArray:
        """The plate-character probability at each input pixel (the network's map, upsampled)."""
        rh, rw = self.input_size(*image.shape[:2])
        resized = cv2.resize(image, (rw, rh), interpolation=cv2.INTER_AREA)
        x = resized.astype(np.float32) / 127.5 - 1.0
        probs = self._model.run(np.ascontiguousarray(x.transpose(2, 0, 1)[np.newaxis]))[0, 0]
        out: FloatArray = cv2.resize(probs, (rw, rh), interpolation=cv2.INTER_LINEAR)
        return out

    def detect(self, image: Image) -> list[TextRegion]:
        if image.ndim != 3 or image.shape[0] < 16 or image.shape[1] < 16:
            return []
        if max(image.shape[:2]) <= self.only_above:
            return []
        h, w = image.shape[:2]
        prob = self.probability_map(image)
        mask = (prob > self.thresh).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        sx, sy = w / prob.shape[1], h / prob.shape[0]
        regions = [r for c in contours if (r := self._region(prob, c, sx, sy, w, h)) is not None]
        regions.sort(key=lambda r: -r.score)
        return regions[: self.limit]

    def _region(
        self, prob: FloatArray, contour: NDArray[Any], sx: float, sy: float, w: int, h: int
    ) -> TextRegion | None:
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if min(rw, rh) < self.min_height:
            return None
        x, y, bw, bh = cv2.boundingRect(contour)
        inside = np.zeros((bh, bw), np.uint8)
        cv2.drawContours(inside, [contour - np.array([x, y])], -1, 1, -1)
        score = float(cv2.mean(prob[y : y + bh, x : x + bw], inside)[0])
        if score < self.box_thresh:
            return None
        pts = cv2.boxPoints(((cx, cy), (rw + 1, rh + 1), angle))  # contours run through edge pixels' centres
        pts[:, 0] = np.clip(pts[:, 0] * sx, 0, w - 1)
        pts[:, 1] = np.clip(pts[:, 1] * sy, 0, h - 1)
        quad = order_quad(pts)
        x0, y0 = np.floor(quad.min(axis=0)).astype(int)
        x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
        return TextRegion(
            box=Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0)),
            quad=tuple((float(px), float(py)) for px, py in quad),
            score=score,
        )

