"""Training scenes for the plate detector: real parked-car photos with synthetic plates pasted in.

Each sample is a square crop of a ucsd-stills "dev-train" photo (the half the reader also trains
on; the "dev-holdout" half is never used) at a random scale, with its real plate and 0-3 rendered
plates (``synth.render_plate``: US, EU and Brazilian styles, frames, perspective) pasted at random
places and sizes, plus words that are not plates (dealer names, badges), then camera effects.
The target is a mask, at a quarter of the input's resolution, of the plate's main characters:
the same extent as the labelled ucsd boxes and as the text lines the pipeline grows into crops.

A few dev-train photos (``detector_val``) are kept out as the detector's validation scenes.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from training import data, synth

U8 = NDArray[np.uint8]
SIZE = 256  # square training crops
STRIDE = 4  # the mask's cell, in input pixels


def detector_val(plate: str) -> bool:
    """Dev-train photos kept out of the detector's training, for choosing it (about an eighth)."""
    return data._bucket(plate, 16) == 4  # always an even residue of 2: a dev-train plate


def scenes(val: bool) -> list[tuple[U8, tuple[int, int, int, int]]]:
    """(photo, plate box x0 y0 x1 y1) of the dev-train photos: the training or the validation part."""
    out = []
    for path, plate, box in data.still_rows():
        if not data.stills_trained_on(plate) or detector_val(plate) != val:
            continue
        img = cv2.imread(str(path))
        if img is not None:
            out.append((img, box))
    return out


def _box_quad(box: tuple[int, int, int, int]) -> NDArray[np.float32]:
    x0, y0, x1, y1 = box
    return np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def _rendered(rng: np.random.Generator) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """A rendered plate (BGR float, sometimes in a dealer's frame) and its text quad."""
    plate = synth.render_plate(rng, synth.random_plate(rng))
    img = plate.image
    x, y, w, h = plate.text_box
    if rng.random() < 0.35:
        framed = synth._frame(rng, img)
        side = (framed.shape[1] - img.shape[1]) // 2
        top = round((framed.shape[0] - img.shape[0]) * 0.3)
        img, x, y = framed, x + side, y + top
    return img, np.float32([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])


def _paste(rng: np.random.Generator, canvas: NDArray[np.float32], taken: list[NDArray[np.float32]]) -> None:
    """One rendered plate pasted into ``canvas`` in perspective; its text quad joins ``taken``."""
    img, text = _rendered(rng)
    ph, pw = img.shape[:2]
    text_h = text[3, 1] - text[0, 1]
    scale = rng.uniform(4.5, 34) / text_h  # character height in the crop, in pixels
    w, h = pw * scale, ph * scale
    if w >= SIZE * 0.9:
        return
    cx, cy = rng.uniform(w / 2, SIZE - w / 2), rng.uniform(h / 2, SIZE - h / 2)
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    dst = np.float32([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    dst += rng.uniform(-0.08, 0.08, size=(4, 2)).astype(np.float32) * h
    ang = math.radians(rng.normal(0, 5))
    rot = np.float32([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    dst = dst @ rot.T + np.float32([cx, cy])
    quad = cv2.perspectiveTransform(text[None], cv2.getPerspectiveTransform(src, dst))[0]
    if any(_overlaps(quad, q) for q in taken):
        return
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(img, matrix, (SIZE, SIZE))
    alpha = cv2.warpPerspective(np.ones((ph, pw), np.float32), matrix, (SIZE, SIZE))[..., None]
    shade = rng.uniform(0.55, 1.15)  # the plate's light in the scene
    canvas[:] = canvas * (1 - alpha) + warped * alpha * shade
    taken.append(quad)


def _overlaps(a: NDArray[np.float32], b: NDArray[np.float32]) -> bool:
    (ax0, ay0), (ax1, ay1) = a.min(axis=0), a.max(axis=0)
    (bx0, by0), (bx1, by1) = b.min(axis=0), b.max(axis=0)
    pad = 0.6 * max(ay1 - ay0, by1 - by0)
    return not (ax1 + pad < bx0 or bx1 + pad < ax0 or ay1 + pad < by0 or by1 + pad < ay0)


def _word(rng: np.random.Generator, canvas: NDArray[np.float32]) -> None:
    """A word that is not a plate (a badge, a dealer's name), for the detector to ignore."""
    mains, scripts = synth.font_paths()
    fonts = mains + scripts
    height = int(rng.integers(5, 28))
    word = synth._text_layer(str(rng.choice(synth.NEGATIVE_WORDS + synth.DEALERS)),
                             fonts[int(rng.integers(len(fonts)))], height)
    word = word[:, : SIZE - 2]
    x = int(rng.integers(0, SIZE - word.shape[1] + 1))
    y = int(rng.integers(0, SIZE - word.shape[0] + 1))
    ink = tuple(int(v) for v in rng.uniform(0, 255, size=3))
    synth._blend(canvas, word, x, y, ink)  # type: ignore[arg-type]


def _camera(rng: np.random.Generator, img: NDArray[np.float32]) -> U8:
    """Light, night/IR, blur, noise and JPEG over the whole crop."""
    if rng.random() < 0.12:
        g = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
        img = np.repeat(g[..., None], 3, axis=2)
    img = img * rng.uniform(0.5, 1.3) + rng.uniform(-50, 40)
    if rng.random() < 0.3:
        img = 255.0 * (np.clip(img, 0, 255) / 255.0) ** rng.uniform(0.6, 1.7)
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.3))
    img = img + rng.normal(0, rng.uniform(0, 8), size=img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 90))])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def sample(rng: np.random.Generator, photos: list[tuple[U8, tuple[int, int, int, int]]]) -> tuple[U8, U8]:
    """One training crop (SIZE x SIZE BGR) and its mask (SIZE/STRIDE square, 0 or 1)."""
    photo, box = photos[int(rng.integers(len(photos)))]
    h, w = photo.shape[:2]
    scale = rng.uniform(220, 620) / max(h, w)  # the pipeline reads a 640 x 480 photo at 384 x 288
    img = cv2.resize(photo, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    quad = _box_quad(box) * scale
    if rng.random() < 0.5:  # mirrored scenes: more backgrounds (the plate mirrored is still a plate's shape)
        img = img[:, ::-1]
        quad = quad[[1, 0, 3, 2]] * np.float32([-1, 1]) + np.float32([img.shape[1], 0])
    canvas = np.zeros((SIZE, SIZE, 3), np.float32)
    canvas[:] = rng.uniform(0, 255, size=3)
    # a window of the photo: around its plate two times in three, anywhere else otherwise
    ih, iw = img.shape[:2]
    if rng.random() < 0.67:
        cx, cy = quad.mean(axis=0) + rng.uniform(-0.4, 0.4, size=2) * SIZE
    else:
        cx, cy = rng.uniform(0, iw), rng.uniform(0, ih)
    x0, y0 = round(cx - SIZE / 2), round(cy - SIZE / 2)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(iw, x0 + SIZE), min(ih, y0 + SIZE)
    if sx1 > sx0 and sy1 > sy0:
        canvas[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = img[sy0:sy1, sx0:sx1]
    quads = [quad - np.float32([x0, y0])]
    for _ in range(int(rng.choice(4, p=[0.25, 0.4, 0.25, 0.1]))):
        _paste(rng, canvas, quads)
    for _ in range(int(rng.integers(0, 3))):
        _word(rng, canvas)
    mask = np.zeros((SIZE // STRIDE, SIZE // STRIDE), np.uint8)
    for q in quads:
        cv2.fillPoly(mask, [np.round(q / STRIDE).astype(np.int32)], 1)
    return _camera(rng, canvas), mask


def build(n: int, seed: int, val: bool = False) -> tuple[U8, U8]:
    """``n`` samples as arrays (N, SIZE, SIZE, 3) and (N, SIZE/STRIDE, SIZE/STRIDE)."""
    rng = np.random.default_rng(seed)
    photos = scenes(val)
    images = np.zeros((n, SIZE, SIZE, 3), np.uint8)
    masks = np.zeros((n, SIZE // STRIDE, SIZE // STRIDE), np.uint8)
    for i in range(n):
        images[i], masks[i] = sample(rng, photos)
    return images, masks
