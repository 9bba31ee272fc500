"""Real labelled crops and the fixed train / held-out splits.

Splits are by plate *string* (a hash of it), never by file, so a plate photographed twice
(``us-plate-crops`` marks such files with a trailing ``_``; ucsd-stills has a few repeats)
is either wholly trained on or wholly held out:

- ``us-plate-crops``: held out when ``sha1(plate) mod 5 == 0`` (about 20%); never trained on.
- ``us-plate-crops`` validation (for choosing a recipe, never the held-out split): the training
  crops whose ``sha1(plate) mod 25`` is 1, 7 or 13 (about 12% of them; these residues are never
  0 mod 5). ``--val`` in ``train.py`` keeps them out of training and reports on them.
- ``ucsd-stills``: trained on when ``sha1(plate) mod 2 == 0`` (about half, "dev-train");
  the other half ("dev-holdout") is never trained on and is reported separately.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

# ../shared/data beside the checkout; PLATEKEEPER_TRAIN_DATA points elsewhere (a copy on another machine).
SHARED = Path(os.environ.get("PLATEKEEPER_TRAIN_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CROPS = SHARED / "us-plate-crops"
STILLS = SHARED / "ucsd-stills"
U8 = NDArray[np.uint8]


def _bucket(plate: str, mod: int) -> int:
    return int(hashlib.sha1(plate.encode("ascii"), usedforsecurity=False).hexdigest()[:8], 16) % mod


def crops_held_out(plate: str) -> bool:
    return _bucket(plate, 5) == 0


VAL_RESIDUES = (1, 7, 13)


def crops_val(plate: str) -> bool:
    """The validation part of the us-plate-crops training split (never the held-out split)."""
    return _bucket(plate, 25) in VAL_RESIDUES


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
    source: str = ""  # where it comes from: a us-plate-crops folder (a state) or "ucsd-stills"


LABEL_FIXES = Path(__file__).resolve().parent / "label_fixes.tsv"


def label_fixes() -> dict[str, str]:
    """Corrected labels of training crops (path relative to us-plate-crops → plate)."""
    fixes = {}
    for line in LABEL_FIXES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            path, plate = line.split("\t")
            fixes[path] = plate.strip()
    return fixes


def load_training_reals(exclude_val: bool = False) -> list[Real]:
    out: list[Real] = []
    if CROPS.is_dir():
        fixes = label_fixes()
        for path, plate in crop_rows():
            if crops_held_out(plate) or (exclude_val and crops_val(plate)):
                continue  # split by the original label; corrections apply to training crops only
            img = cv2.imread(str(path))
            if img is not None:
                label = fixes.get(path.relative_to(CROPS).as_posix(), plate)
                out.append(Real(img, (0, 0, img.shape[1], img.shape[0]), label, False, path.parent.name))
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
            out.append(Real(img[cy0:cy1, cx0:cx1].copy(), (x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0), plate, True,
                            "ucsd-stills"))
    return out


def rarity_factors(labels: list[str], power: float, cap: float = 4.0) -> NDArray[np.float64]:
    """Per label, how much more often to draw it: (median symbol count / count of its rarest symbol) ** power.

    The real crops are mostly New York plates, whose letters are far from uniform (216 training crops hold
    an M, 61 a W, 10 an O), and the reader's worst confusions are rare letters read as common look-alikes
    (W as M, H or N). Drawing crops with rare symbols more often evens that out; ``cap`` keeps a handful of
    crops (the letter O, say) from dominating a batch. ``power`` 0 gives 1 everywhere.
    """
    counts = Counter(c for label in labels for c in set(label))  # labels holding each symbol
    if not counts or power <= 0:
        return np.ones(len(labels))
    median = float(np.median(list(counts.values())))
    factors = [max(((median / counts[c]) ** power for c in set(label)), default=1.0) for label in labels]
    return np.clip(np.array(factors), 1.0, cap)


def augment_real(rng: np.random.Generator, real: Real, strong: bool = False) -> U8:  # noqa: C901, PLR0915
    """A jittered crop of a real plate: margins, a little rotation, light and blur.

    ``strong`` adds what the remaining errors call for: perspective (oblique plates), wider margin
    jitter, a random channel mix before the grey conversion (yellow NY / NJ plates), contrast loss
    (worn plates), gamma, motion blur, harsher resolution loss and JPEG.
    """
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
    elif strong and rng.random() < 0.3:  # looser: the plate with some of the car around it
        top, bottom, left, right = (rng.uniform(0.0, 0.25) * s for s in (h, h, w, w))
    else:
        top, bottom, left, right = (rng.uniform(-0.06, 0.03) * s for s in (h, h, w, w))
    angle = rng.normal(0, 3)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    M = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    M[0, 1] += rng.normal(0, 0.05)  # shear
    if strong and rng.random() < 0.5:  # perspective: the plate seen from the side or from below
        src = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        j = rng.uniform(-0.08, 0.08, size=(4, 2)) * np.array([w, h])
        P = cv2.getPerspectiveTransform(src, (src + j).astype(np.float32))
        P = np.vstack([M, [0, 0, 1]]) @ P
        rot = cv2.warpPerspective(img, P, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    else:
        rot = cv2.warpAffine(img, M, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    if strong and rot.ndim == 3 and rng.random() < 0.3:  # another grey: a random mix of the channels
        mix = rng.dirichlet((2.0, 2.0, 2.0)).astype(np.float32)
        rot = np.repeat((rot.astype(np.float32) @ mix)[..., None], 3, axis=2).astype(np.uint8)
    a0, b0 = int(max(0, x0 - left)), int(max(0, y0 - top))
    a1, b1 = int(min(img.shape[1], x1 + right)), int(min(img.shape[0], y1 + bottom))
    crop = rot[b0:max(b1, b0 + 4), a0:max(a1, a0 + 4)].astype(np.float32)
    crop = crop * rng.uniform(0.6, 1.3) + rng.uniform(-40, 40)
    if strong and rng.random() < 0.25:  # worn: contrast squeezed towards the mean
        m = crop.mean()
        crop = m + (crop - m) * rng.uniform(0.35, 0.8)
    if strong and rng.random() < 0.25:
        crop = 255.0 * (np.clip(crop, 0, 255) / 255.0) ** rng.uniform(0.6, 1.7)
    if rng.random() < 0.3:
        crop = cv2.GaussianBlur(crop, (0, 0), rng.uniform(0.3, 1.2))
    if strong and rng.random() < 0.12:  # motion blur
        k = int(rng.integers(3, 7))
        kern = np.zeros((k, k), np.float32)
        kern[k // 2, :] = 1.0 / k
        crop = cv2.filter2D(crop, -1, kern)
    if rng.random() < 0.3:  # lower resolution
        s = rng.uniform(0.25 if strong else 0.3, 0.8)
        small = cv2.resize(crop, (max(4, int(crop.shape[1] * s)), max(4, int(crop.shape[0] * s))))
        crop = cv2.resize(small, (crop.shape[1], crop.shape[0]))
    crop += rng.normal(0, rng.uniform(0, 6), size=crop.shape).astype(np.float32)
    out = np.clip(crop, 0, 255).astype(np.uint8)
    if strong and rng.random() < 0.3:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 80))])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return out
