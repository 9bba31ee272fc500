"""Quads and boxes: sizes, growing a text line into a plate crop, rectification."""

from __future__ import annotations

import math

import cv2
import numpy as np

from platekeeper.recognition.base import Box, Image

Quad = tuple[tuple[float, float], ...]


def _dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def quad_size(quad: Quad) -> tuple[float, float]:
    tl, tr, br, bl = quad[:4]
    return max(_dist(tl, tr), _dist(bl, br)), max(_dist(tl, bl), _dist(tr, br))


def widen(quad: Quad, amount: float) -> Quad:
    """The quad stretched along its text direction by ``amount`` × its height on each side."""
    return grow(quad, amount, 0.0, 1.0)


def grow(quad: Quad, margin: float, top: float, bottom: float) -> Quad:
    """A quad around a text line, in units of the line's height.

    ``margin`` is added left and right along the text direction; ``top`` and ``bottom`` place
    the new top and bottom edges as fractions of the height (0 and 1 keep them; -0.2 and 1.2
    take in a fifth of the height above and below, where a plate's other text lies).
    """
    tl, tr, br, bl = (np.array(p, dtype=np.float64) for p in quad[:4])
    _, h = quad_size(quad)
    ux = (tr - tl + br - bl) / 2
    ux /= max(float(np.linalg.norm(ux)), 1e-6)
    d = ux * margin * h
    pts = (
        tl + (bl - tl) * top - d,
        tr + (br - tr) * top + d,
        tr + (br - tr) * bottom + d,
        tl + (bl - tl) * bottom - d,
    )
    return tuple((float(p[0]), float(p[1])) for p in pts)


def rectify(image: Image, quad: Quad) -> Image:
    """Warp the quad (clockwise from top-left) to an upright rectangle (deskew and perspective)."""
    w, h = quad_size(quad)
    wi, hi = max(4, round(w)), max(4, round(h))
    src = np.array(quad[:4], dtype=np.float32)
    dst = np.array([[0, 0], [wi - 1, 0], [wi - 1, hi - 1], [0, hi - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(image, matrix, (wi, hi), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(out, dtype=np.uint8)


def order_quad(pts: np.ndarray) -> np.ndarray:
    """Four corners (a rotated rectangle's, as from ``cv2.boxPoints``) clockwise from top-left."""
    xs = pts[np.argsort(pts[:, 0], kind="stable")]
    left = xs[:2][np.argsort(xs[:2, 1], kind="stable")]
    right = xs[2:][np.argsort(xs[2:, 1], kind="stable")]
    return np.array([left[0], right[0], right[1], left[1]], dtype=np.float32)


def overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area."""
    iw = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    ih = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if iw <= 0 or ih <= 0:
        return 0.0
    return iw * ih / max(1, min(a.w * a.h, b.w * b.h))


def iou(a: Box, b: Box) -> float:
    iw = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    ih = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / max(1, a.w * a.h + b.w * b.h - inter)


def union(a: Box, b: Box) -> Box:
    x0, y0 = min(a.x, b.x), min(a.y, b.y)
    x1, y1 = max(a.x + a.w, b.x + b.w), max(a.y + a.h, b.y + b.h)
    return Box(x0, y0, x1 - x0, y1 - y0)


def box_quad(box: Box) -> Quad:
    x0, y0, x1, y1 = float(box.x), float(box.y), float(box.x + box.w), float(box.y + box.h)
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
