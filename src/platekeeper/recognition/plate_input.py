"""What the project's plate reader sees: one function shared by training and inference.

The reader is trained on crops prepared by exactly these functions (``training/`` imports
them), so a change here changes the model's input: retrain after editing.

Pure numpy/OpenCV; no models.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from platekeeper.recognition.base import Image

INPUT_H = 48
INPUT_W = 128
# The alphabet of the model's output classes after the CTC blank (class 0).
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Plates at most this wide for their height are candidates for two-line reading.
TWO_LINE_MAX_ASPECT = 1.6

FloatArray = NDArray[np.float32]


def to_gray(crop: Image) -> NDArray[np.uint8]:
    if crop.ndim == 2:
        return crop
    return np.asarray(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


def prepare(crop: Image) -> FloatArray:
    """A crop (BGR or grey, any size) → the model input, shape (1, INPUT_H, INPUT_W).

    Grey, stretched to the fixed size (plates and text lines differ in aspect; the model is
    trained on both), and normalised per crop so night, IR and over-exposed plates look alike.
    """
    gray = to_gray(crop)
    h, w = gray.shape[:2]
    shrinking = h > INPUT_H and w > INPUT_W
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC  # upscaling small plates: cubic
    resized = cv2.resize(gray, (INPUT_W, INPUT_H), interpolation=interp).astype(np.float32)
    mean = float(resized.mean())
    std = max(float(resized.std()), 8.0)
    out: FloatArray = ((resized - mean) / std)[np.newaxis].astype(np.float32)
    return out


def split_row(gray: NDArray[np.uint8]) -> int:
    """The row between the two lines of a stacked plate: least vertical-edge energy mid-plate."""
    h = gray.shape[0]
    edges = np.abs(np.diff(gray.astype(np.float32), axis=1)).sum(axis=1)
    lo, hi = max(1, round(0.3 * h)), max(2, round(0.7 * h))
    band = cv2.blur(edges[lo:hi].reshape(-1, 1), (1, 3)).ravel()
    return int(lo + int(np.argmin(band)))


def unfold(crop: Image) -> Image:
    """A two-line plate laid out as one line: the top half, then the bottom half, side by side.

    The reader then reads the upper line before the lower one, as the plate is read aloud.
    """
    h = crop.shape[0]
    if h < 8:
        return crop
    row = split_row(to_gray(crop))
    top, bottom = crop[:row], crop[row:]
    height = max(top.shape[0], bottom.shape[0])

    def fit(part: Image) -> Image:
        scale = height / max(part.shape[0], 1)
        size = (max(1, round(part.shape[1] * scale)), height)
        return np.asarray(cv2.resize(part, size, interpolation=cv2.INTER_LINEAR), dtype=np.uint8)

    return np.ascontiguousarray(np.concatenate([fit(top), fit(bottom)], axis=1))
