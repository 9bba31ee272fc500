"""Blurring faces and people in stored frames (CAP-4), by setting.

Detection only, never identification: the detector says *where* a face or a person is, the
region is blurred beyond recognition, and nothing about it is kept. The detectors are
OpenCV's bundled Haar cascades (shipped inside OpenCV 4 wheels as ``cv2.data``, and by
Debian's ``opencv-data``); where neither the cascade runtime nor the files are present,
``PeopleBlurrer.available`` is False and callers must say that blurring is unavailable.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from platekeeper.recognition.base import Box, Image

CASCADES = (
    "haarcascade_frontalface_default.xml",
    "haarcascade_profileface.xml",
    "haarcascade_fullbody.xml",
    "haarcascade_upperbody.xml",
)
SEARCH_DIRS = (Path("/usr/share/opencv4/haarcascades"), Path("/usr/share/opencv/haarcascades"))


def cascade_dirs() -> list[Path]:
    dirs = []
    data = getattr(cv2, "data", None)
    bundled = getattr(data, "haarcascades", None)
    if bundled:
        dirs.append(Path(bundled))
    return dirs + [d for d in SEARCH_DIRS if d.is_dir()]


def blur_regions(image: Image, boxes: Sequence[Box], grow: float = 0.15) -> Image:
    """A copy of ``image`` with each box (grown a little) pixelated and blurred beyond recognition."""
    out: Image = image.copy()
    h, w = out.shape[:2]
    for b in boxes:
        gx, gy = round(b.w * grow), round(b.h * grow)
        x0, y0 = max(0, b.x - gx), max(0, b.y - gy)
        x1, y1 = min(w, b.x + b.w + gx), min(h, b.y + b.h + gy)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        region = out[y0:y1, x0:x1]
        small = cv2.resize(region, (max(1, (x1 - x0) // 12), max(1, (y1 - y0) // 12)), interpolation=cv2.INTER_AREA)
        coarse = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        out[y0:y1, x0:x1] = cv2.GaussianBlur(coarse, (0, 0), max(2.0, (x1 - x0) / 10))
    return out


class PeopleBlurrer:
    """Finds faces and people with OpenCV's cascades and blurs them."""

    def __init__(self, cascades: Sequence[str] = CASCADES) -> None:
        self._classifiers: list[Any] = []
        factory = getattr(cv2, "CascadeClassifier", None)  # not in OpenCV 5's main module
        if factory is None:
            return
        for name in cascades:
            path = next((d / name for d in cascade_dirs() if (d / name).is_file()), None)
            if path is not None:
                clf = factory(str(path))
                if not clf.empty():
                    self._classifiers.append(clf)

    @property
    def available(self) -> bool:
        return bool(self._classifiers)

    def regions(self, image: Image) -> list[Box]:
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        gray = cv2.equalizeHist(np.ascontiguousarray(gray))
        boxes = []
        for clf in self._classifiers:
            for x, y, w, h in clf.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=(16, 16)):
                boxes.append(Box(int(x), int(y), int(w), int(h)))
        return boxes

    def blur(self, image: Image) -> Image:
        if not self.available:
            raise RuntimeError("people blurring needs OpenCV's cascade classifier and its cascade files")
        return blur_regions(image, self.regions(image))
