"""Privacy masks (CAP-3): areas a camera must never read or store are blacked out first."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from platekeeper.recognition.base import Image

Polygon = Sequence[tuple[float, float]]
MAX_COORD = 1e6


def validate_polygon(polygon: Polygon, index: int = 0) -> list[tuple[float, float]]:
    """Check a mask polygon: at least three (x, y) points of finite numbers, in pixels."""
    try:
        points = [(float(x), float(y)) for x, y in polygon]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"privacy mask {index}: points must be (x, y) pairs of numbers") from exc
    if len(points) < 3:
        raise ValueError(f"privacy mask {index}: a polygon needs at least 3 points, got {len(points)}")
    if not all(math.isfinite(v) for pt in points for v in pt):
        raise ValueError(f"privacy mask {index}: coordinates must be finite numbers")
    if any(abs(v) > MAX_COORD for pt in points for v in pt):
        raise ValueError(f"privacy mask {index}: coordinates beyond ±{MAX_COORD:g} pixels")
    return points


def apply_privacy_masks(image: Image, polygons: Sequence[Polygon]) -> Image:
    """A copy of ``image`` with every polygon (pixel coordinates) filled black.

    All polygons are validated before anything is drawn; the input is never changed.
    Polygons reaching outside the image are clipped by the drawing.
    """
    checked = [validate_polygon(poly, i) for i, poly in enumerate(polygons)]
    out: Image = image.copy()
    if not checked:
        return out
    colour = (0,) * (1 if out.ndim == 2 else out.shape[2])
    for poly in checked:
        pts = np.round(np.array(poly, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(out, [pts], colour, lineType=cv2.LINE_8)  # one by one: overlaps stay filled
    return out
