"""Real labelled crops and the fixed train / held-out splits.

Splits are by plate *string* (a hash of it), never by file, so a plate photographed twice
(``us-plate-crops`` marks such files with a trailing ``_``; ucsd-stills has a few repeats)
is either wholly trained on or wholly held out:

- ``us-plate-crops``: held out when ``sha1(plate) mod 5 == 0`` (about 20%); never trained on.
- ``ucsd-stills``: trained on when ``sha1(plate) mod 2 == 0`` (about half, "dev-train");
  the other half ("dev-holdout") is never trained on and is reported separately.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CROPS = SHARED / "us-plate-crops"
STILLS = SHARED / "ucsd-stills"
U8 = NDArray[np.uint8]


def _bucket(plate: str, mod: int) -> int:
    return int(hashlib.sha1(plate.encode("ascii"), usedforsecurity=False).hexdigest()[:8], 16) % mod


def crops_held_out(plate: str) -> bool:
    return _bucket(plate, 5) == 0


def stills_trained_on(plate: str) -> bool:
    return _bucket(plate, 2) == 0


def crop_rows(root: Path = CROPS) -> list[tuple[Path, str]]:
    rows = []
    with (root / "labels.tsv").open(encoding="utf-8") as f:
        next(f)
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2 and parts[1].strip():
                rows.append((root / parts[0], parts[1].strip().upper()))
    return rows


def still_rows(root: Path = STILLS) -> list[tuple[Path, str, tuple[int, int, int, int]]]:
    rows = []
    with (root / "labels.tsv").open(encoding="utf-8") as f:
        next(f)
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) >= 6:
                box = (int(p[2]), int(p[3]), int(p[4]), int(p[5]))
                rows.append((root / "images" / p[0], p[1].strip().upper(), box))
    return rows


@dataclass
class Real:
    image: U8  # a region around the plate
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the labelled plate inside ``image``
    label: str
    tight_text: bool  # the box hugs the characters (ucsd) rather than the whole plate (crops)


def load_training_reals() -> list[Real]:
    out: list[Real] = []
    if CROPS.is_dir():
        for path, plate in crop_rows():
            img = cv2.imread(str(path))
            if img is not None and not crops_held_out(plate):
                out.append(Real(img, (0, 0, img.shape[1], img.shape[0]), plate, False))
    if STILLS.is_dir():
        for path, plate, (x0, y0, x1, y1) in still_rows():
            if not stills_trained_on(plate):
                continue
            img = cv2.imread(str(path))
            if img is None:
                continue
            h = y1 - y0
            cx0, cy0 = max(0, x0 - 2 * h), max(0, y0 - 2 * h)
            cx1, cy1 = min(img.shape[1], x1 + 2 * h), min(img.shape[0], y1 + 2 * h)
            out.append(Real(img[cy0:cy1, cx0:cx1].copy(), (x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0), plate, True))
    return out


def augment_real(rng: np.random.Generator, real: Real) -> U8:
    """A jittered crop of a real plate: margins, a little rotation, light and blur."""
    img = real.image
    x0, y0, x1, y1 = real.box
    w, h = x1 - x0, y1 - y0
    if real.tight_text:
        mx = rng.uniform(0.0, 0.9) * h
        top, bottom = rng.uniform(-0.05, 0.5) * h, rng.uniform(-0.05, 0.5) * h
        left, right = mx + rng.uniform(-0.1, 0.1) * h, mx + rng.uniform(-0.1, 0.1) * h
    elif rng.random() < 0.3:  # the characters' band only, as a text detector crops it
        top, bottom = -rng.uniform(0.12, 0.3) * h, -rng.uniform(0.12, 0.3) * h
        left = right = rng.uniform(-0.06, 0.04) * w
    else:
        top, bottom, left, right = (rng.uniform(-0.06, 0.03) * s for s in (h, h, w, w))
    angle = rng.normal(0, 3)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    M = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    M[0, 1] += rng.normal(0, 0.05)  # shear
    rot = cv2.warpAffine(img, M, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    a0, b0 = int(max(0, x0 - left)), int(max(0, y0 - top))
    a1, b1 = int(min(img.shape[1], x1 + right)), int(min(img.shape[0], y1 + bottom))
    crop = rot[b0:max(b1, b0 + 4), a0:max(a1, a0 + 4)].astype(np.float32)
    crop = crop * rng.uniform(0.6, 1.3) + rng.uniform(-40, 40)
    if rng.random() < 0.3:
        crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.3, 1.2))
    if rng.random() < 0.3:  # lower resolution
        s = rng.uniform(0.3, 0.8)
        small = cv2.resize(crop, (max(4, int(crop.shape[1] * s)), max(4, int(crop.shape[0] * s))))
        crop = cv2.resize(small, (crop.shape[1], crop.shape[0]))
    crop += rng.normal(0, rng.uniform(0, 6), size=crop.shape).astype(np.float32)
    return np.clip(crop, 0, 255).astype(np.uint8)
