"""A simple vehicle colour estimate from the body paint around a plate."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from platekeeper.recognition.base import Box, Image

COLOURS = ("white", "black", "grey", "silver", "red", "blue", "green", "yellow", "brown")
MIN_SHARE = 0.45


def _sample_boxes(box: Box, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Body panels beside and above the plate (x0, y0, x1, y1), clipped to the image."""
    x, y, w, h = box.x, box.y, box.w, box.h
    raw = [
        (x - w // 2, y - 2 * h, x + w + w // 2, y - h // 2),  # above: boot lid / bumper
        (x - int(0.7 * w), y, x - int(0.15 * w), y + h),  # left of the plate
        (x + int(1.15 * w), y, x + int(1.7 * w), y + h),  # right of the plate
    ]
    out = []
    for x0, y0, x1, y1 in raw:
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
        if cx1 - cx0 >= 4 and cy1 - cy0 >= 4:
            out.append((cx0, cy0, cx1, cy1))
    return out


def classify_pixels(hsv: NDArray[Any]) -> NDArray[np.int64]:
    """Index into COLOURS for each HSV pixel (OpenCV ranges: H 0..179, S and V 0..255)."""
    hue = hsv[..., 0].astype(np.int64)
    sat = hsv[..., 1].astype(np.int64)
    val = hsv[..., 2].astype(np.int64)
    out = np.full(hue.shape, COLOURS.index("grey"), dtype=np.int64)
    grey_like = sat < 50
    out[grey_like & (val >= 185)] = COLOURS.index("white")
    out[grey_like & (val >= 130) & (val < 185)] = COLOURS.index("silver")
    chroma = ~grey_like
    red = (hue < 8) | (hue >= 165)
    orange = (hue >= 8) & (hue < 20)
    yellow = (hue >= 20) & (hue < 35)
    green = (hue >= 35) & (hue < 85)
    blue = (hue >= 85) & (hue < 135)
    purple = (hue >= 135) & (hue < 165)
    out[chroma & red] = COLOURS.index("red")
    out[chroma & orange & (val < 170)] = COLOURS.index("brown")
    out[chroma & orange & (val >= 170)] = COLOURS.index("yellow")
    out[chroma & yellow] = COLOURS.index("yellow")
    out[chroma & green] = COLOURS.index("green")
    out[chroma & (blue | purple)] = COLOURS.index("blue")
    out[val < 55] = COLOURS.index("black")
    return out


def vehicle_colour(image: Image, plate_box: Box) -> str | None:
    """Dominant colour class of the body around the plate, or None when unsure."""
    height, width = image.shape[:2]
    pixels = []
    for x0, y0, x1, y1 in _sample_boxes(plate_box, width, height):
        patch = cv2.GaussianBlur(image[y0:y1, x0:x1], (5, 5), 0)
        hsv_patch: NDArray[Any] = cv2.cvtColor(patch, cv2.COLOR_BGR2HSV)
        pixels.append(hsv_patch.reshape(-1, 3))
    if not pixels:
        return None
    hsv = np.concatenate(pixels)
    if len(hsv) < 50:
        return None
    counts = np.bincount(classify_pixels(hsv), minlength=len(COLOURS))
    best = int(counts.argmax())
    if counts[best] < MIN_SHARE * counts.sum():
        return None
    return COLOURS[best]
