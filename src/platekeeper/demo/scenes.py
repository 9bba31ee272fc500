"""Seeded synthetic "car rear with a California plate" scenes for ``platekeeper demo``.

The demo must ship images without copying any real data set, so the project draws its
own: a parking-lot background, a stylised car rear and a California-style plate, seen
from a varied angle, scale and light, then blurred, noised and JPEG-compressed like a
camera frame. Text is drawn with OpenCV's Hershey fonts and Pillow's bundled default
font only, so rendering needs no system fonts and is identical on every machine.
The plate is kept readable on purpose: the demo exists to show the OCR working.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

Frame = NDArray[np.uint8]  # BGR, as OpenCV decodes it
Float = NDArray[np.float32]

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
MANIFEST_PATH = ASSETS_DIR / "manifest.json"

PLATE_RE = re.compile(r"^[0-9][A-Z]{3}[0-9]{3}$")
CAMERAS = ("fixed-1", "fixed-2", "mobile-1")
LIGHTINGS = ("day", "dusk", "night")

# Body paints in BGR. Names are the vocabulary a colour classifier would report.
CAR_COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (232, 234, 236),
    "black": (32, 32, 34),
    "silver": (186, 184, 180),
    "grey": (108, 108, 110),
    "red": (38, 36, 172),
    "blue": (140, 68, 28),
    "green": (58, 96, 46),
}

# Plate geometry: a US plate is 12" x 6"; a car rear is about six plates wide.
PLATE_ASPECT = 2.0
CAR_WIDTH_IN_PLATES = 5.6
_HI_W = 520  # the plate is drawn this wide, then shrunk with area averaging
_HI_H = int(_HI_W / PLATE_ASPECT)

PLATE_WHITE = (244, 245, 243)
PLATE_BLUE = (112, 40, 22)  # the dark navy of the characters
PLATE_RED = (40, 32, 200)  # the "California" script
DEALERS = ("SUNSET AUTO", "BAYSIDE MOTORS", "VALLEY HONDA", "COAST TOYOTA", "PACIFIC FORD")


@dataclass(frozen=True)
class DemoScene:
    """One shipped demo image, as listed in ``assets/manifest.json``."""

    file: str
    plate: str
    colour: str
    camera: str
    offset_s: int  # capture time, seconds after the start of the demo run

    @property
    def path(self) -> Path:
        return ASSETS_DIR / self.file

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_manifest(path: Path = MANIFEST_PATH) -> list[DemoScene]:
    """The shipped demo scenes, in capture order."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    return [DemoScene(**entry) for entry in entries]


@dataclass(frozen=True)
class _Pose:
    """Where and how the car sits in the frame."""

    plate_px: int  # plate width in pixels before foreshortening
    centre: tuple[float, float]  # plate centre in the frame
    yaw_deg: float
    pitch_deg: float
    roll_deg: float


def render_scene(
    plate: str,
    seed: int,
    *,
    colour: str,
    angle_deg: float,
    lighting: str,
    size: tuple[int, int] = (1280, 720),
    plate_px: int | None = None,
) -> Frame:
    """Draw one BGR frame of a car rear carrying ``plate``; the same arguments give the same pixels.

    ``angle_deg`` is the yaw between the camera axis and the car (0 = straight behind),
    ``size`` is (width, height), and ``plate_px`` the plate width in pixels (drawn from
    the seed between 80 and 200 when not given).
    """
    if colour not in CAR_COLOURS:
        raise ValueError(f"unknown colour {colour!r}; expected one of {sorted(CAR_COLOURS)}")
    if lighting not in LIGHTINGS:
        raise ValueError(f"unknown lighting {lighting!r}; expected one of {LIGHTINGS}")
    rng = np.random.default_rng(seed)
    width, height = size
    pose = _choose_pose(rng, width, height, angle_deg, plate_px)

    background = _background(rng, width, height)
    car, alpha, lamps, plate_mask = _car_layer(rng, plate, CAR_COLOURS[colour], pose.plate_px)
    homography = _homography(pose, car.shape[1], car.shape[0], plate_mask)
    warp = _warper(homography, width, height)
    alpha_f, lamps_f, plate_f = warp(alpha), warp(lamps), warp(plate_mask)

    frame = _drop_shadow(background, alpha_f)
    frame = frame * (1.0 - alpha_f[..., None]) + warp(car) * alpha_f[..., None]
    frame = _apply_lighting(rng, frame, lighting, lamps_f, plate_f)
    return _camera_degrade(rng, frame, lighting, pose.plate_px)


# --- pose and projection ------------------------------------------------------------------


def _choose_pose(rng: np.random.Generator, width: int, height: int, angle_deg: float, plate_px: int | None) -> _Pose:
    if plate_px is None:  # 80-200 px, capped so the car still fits a small frame's width
        plate_px = round(rng.uniform(80, min(200, 0.16 * width)))
    centre = (width * rng.uniform(0.36, 0.64), height * rng.uniform(0.58, 0.74))
    # Fixed cameras sit on poles and look down a little; the roll is mounting slop.
    return _Pose(plate_px, centre, angle_deg, rng.uniform(4.0, 12.0), rng.uniform(-3.0, 3.0))


def _homography(pose: _Pose, layer_w: int, layer_h: int, plate_mask: Float) -> NDArray[np.float64]:
    """Project the flat car layer as a plane turned by yaw/pitch/roll in front of a pinhole camera."""
    ys, xs = np.nonzero(plate_mask > 0.5)
    anchor = np.array([xs.mean(), ys.mean()])
    corners = np.array([[0, 0], [layer_w, 0], [layer_w, layer_h], [0, layer_h]], dtype=np.float64)
    rotation = _rotation(*(math.radians(a) for a in (pose.yaw_deg, pose.pitch_deg, pose.roll_deg)))
    points = np.c_[corners - anchor, np.zeros(4)] @ rotation.T
    focal = 2.2 * layer_w  # a moderate lens: visible but not extreme keystone
    projected = focal * points[:, :2] / (focal + points[:, 2:3]) + np.array(pose.centre)
    homography = cv2.getPerspectiveTransform(corners.astype(np.float32), projected.astype(np.float32))
    return np.asarray(homography, np.float64)


def _rotation(yaw: float, pitch: float, roll: float) -> NDArray[np.float64]:
    """Turn about the vertical axis, then tilt towards the camera, then roll in the image plane."""
    cy, sy, cp, sp, cr, sr = (f(a) for a in (yaw, pitch, roll) for f in (math.cos, math.sin))
    rot_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rot_x = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rot_z = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return np.asarray(rot_z @ rot_x @ rot_y, np.float64)


def _warper(homography: NDArray[np.float64], width: int, height: int) -> Callable[[NDArray[Any]], Float]:
    def warp(layer: NDArray[Any]) -> Float:
        out = cv2.warpPerspective(
            layer.astype(np.float32), homography, (width, height), flags=cv2.INTER_LINEAR, borderValue=0
        )
        return np.asarray(out, dtype=np.float32)

    return warp


# --- background ---------------------------------------------------------------------------


def _smooth_noise(rng: np.random.Generator, width: int, height: int, cell: int) -> Float:
    """Low-frequency noise in about [-1, 1]: stains, wear and uneven light."""
    small = rng.normal(size=(height // cell + 2, width // cell + 2)).astype(np.float32)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC), dtype=np.float32)


def _background(rng: np.random.Generator, width: int, height: int) -> Float:
    """A wall, a kerb and a stretch of asphalt with parking bays."""
    kerb_top = int(height * rng.uniform(0.30, 0.42))
    kerb_h = max(6, int(height * 0.035))
    img = np.empty((height, width, 3), np.float32)
    img[:kerb_top] = _wall(rng, width, kerb_top)
    img[kerb_top:] = _asphalt(rng, width, height - kerb_top)
    _draw_kerb(img, kerb_top, kerb_h)
    _draw_bay_lines(rng, img, kerb_top + kerb_h)
    return img


def _wall(rng: np.random.Generator, width: int, height: int) -> Float:
    kind = rng.choice(["concrete", "brick", "hedge"])
    shade = _smooth_noise(rng, width, height, 96)[..., None]
    if kind == "hedge":
        base = np.array([48, 92, 60], np.float32) * (1 + 0.12 * shade)
        leaves = _smooth_noise(rng, width, height, 4)[..., None]
        return np.asarray(base * (1 + 0.22 * leaves), np.float32)
    if kind == "brick":
        img = np.empty((height, width, 3), np.float32)
        img[:] = (150, 152, 156)  # mortar
        brick_h, brick_w = max(8, height // 14), max(20, height // 6)
        for row, y in enumerate(range(0, height, brick_h)):
            for x in range(-(row % 2) * brick_w // 2, width, brick_w):
                tone = rng.uniform(0.8, 1.1)
                cv2.rectangle(
                    img,
                    (x + 2, y + 2),
                    (x + brick_w - 2, y + brick_h - 2),
                    (62 * tone, 84 * tone, 150 * tone),
                    -1,
                )
        return np.asarray(img * (1 + 0.12 * shade), np.float32)
    img = np.empty((height, width, 3), np.float32)
    img[:] = np.array([158, 160, 158], np.float32) * rng.uniform(0.85, 1.1)
    panel = max(40, width // 6)
    for x in range(panel, width, panel):  # tilt-up panel joints
        cv2.line(img, (x, 0), (x, height), (120, 122, 120), 2)
    return np.asarray(img * (1 + 0.1 * shade), np.float32)


def _asphalt(rng: np.random.Generator, width: int, height: int) -> Float:
    img = np.empty((height, width, 3), np.float32)
    img[:] = np.array([74, 76, 78], np.float32) * rng.uniform(0.8, 1.15)
    patches = _smooth_noise(rng, width, height, 90)[..., None]
    grain = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 0.8)[..., None]
    # Grain is kept faint: it is what JPEG spends most bytes on.
    return np.asarray(img * (1 + 0.07 * patches) + 5.0 * grain, np.float32)


def _draw_kerb(img: Float, top: int, kerb_h: int) -> None:
    width = img.shape[1]
    cv2.rectangle(img, (0, top), (width, top + kerb_h), (176, 178, 176), -1)
    cv2.line(img, (0, top), (width, top), (205, 206, 204), 2)
    cv2.line(img, (0, top + kerb_h), (width, top + kerb_h), (50, 52, 54), 2)


def _draw_bay_lines(rng: np.random.Generator, img: Float, top: int) -> None:
    """Painted bay lines fanning out from a vanishing point above the kerb."""
    height, width = img.shape[:2]
    paint = (206, 208, 210) if rng.random() < 0.6 else (60, 190, 220)  # white or yellow
    spacing = width * rng.uniform(0.28, 0.4)
    phase = rng.uniform(0, spacing)
    spread = rng.uniform(1.4, 2.0)  # bay lines widen towards the camera
    cx = width / 2
    x = phase - spacing
    while x < width + spacing:
        bottom_x = cx + (x - cx) * spread
        cv2.line(img, (int(x), top), (int(bottom_x), height), paint, max(3, width // 200), cv2.LINE_AA)
        x += spacing


# --- the car ------------------------------------------------------------------------------


def _car_layer(
    rng: np.random.Generator, plate: str, paint: tuple[int, int, int], plate_px: int
) -> tuple[Float, Float, Float, Float]:
    """The car rear on a transparent layer: colour, alpha, tail-lamp mask and plate mask."""
    car = _CarLayer(round(plate_px * CAR_WIDTH_IN_PLATES))
    _draw_body(rng, car, paint)
    _draw_tail_lamps(car)
    plate_img, plate_alpha = _plate_image(rng, plate, plate_px)
    plate_mask = _paste_plate(car.colour, plate_img, plate_alpha, car.at(0.5, 0.53))
    return car.colour, car.alpha, car.lamps, plate_mask


class _CarLayer:
    """Drawing surface for the car, addressed in fractions of the car's width."""

    def __init__(self, car_w: int) -> None:
        self.car_w = car_w
        self.pad = car_w // 10  # room for the projection to move corners outwards
        size = (round(car_w * 0.80) + 2 * self.pad, car_w + 2 * self.pad)
        self.colour = np.zeros((*size, 3), np.float32)
        self.alpha = np.zeros(size, np.float32)
        self.lamps = np.zeros(size, np.float32)

    def at(self, fx: float, fy: float) -> tuple[int, int]:
        return (self.pad + round(fx * self.car_w), self.pad + round(fy * self.car_w))

    def px(self, fraction: float) -> int:
        return max(1, round(fraction * self.car_w))

    def poly(self, points: list[tuple[float, float]], bgr: tuple[int, int, int], solid: bool = True) -> None:
        pts = np.array([self.at(fx, fy) for fx, fy in points], np.int32)
        cv2.fillPoly(self.colour, [pts], bgr, cv2.LINE_AA)
        if solid:
            cv2.fillPoly(self.alpha, [pts], 1.0, cv2.LINE_AA)

    def box(
        self,
        p0: tuple[float, float],
        p1: tuple[float, float],
        radius: float,
        bgr: tuple[int, int, int],
        solid: bool = True,
    ) -> None:
        corners = (self.at(*p0), self.at(*p1))
        _rounded_rect(self.colour, *corners, self.px(radius), bgr)
        if solid:
            _rounded_rect(self.alpha, *corners, self.px(radius), 1.0)


def _rounded_rect(img: NDArray[Any], p0: tuple[int, int], p1: tuple[int, int], radius: int, value: Any) -> None:
    """Filled rectangle with round corners (OpenCV has none)."""
    (x0, y0), (x1, y1) = p0, p1
    radius = max(1, min(radius, (x1 - x0) // 2, (y1 - y0) // 2))
    cv2.rectangle(img, (x0 + radius, y0), (x1 - radius, y1), value, -1, cv2.LINE_AA)
    cv2.rectangle(img, (x0, y0 + radius), (x1, y1 - radius), value, -1, cv2.LINE_AA)
    for cx, cy in (
        (x0 + radius, y0 + radius),
        (x1 - radius, y0 + radius),
        (x0 + radius, y1 - radius),
        (x1 - radius, y1 - radius),
    ):
        cv2.circle(img, (cx, cy), radius, value, -1, cv2.LINE_AA)


def _draw_body(rng: np.random.Generator, car: _CarLayer, paint: tuple[int, int, int]) -> None:
    """Tyres, cabin, body and bumper, shaded so the flat paint reads as curved metal."""
    tyre = (22, 22, 24)
    car.box((0.07, 0.62), (0.21, 0.80), 0.03, tyre)
    car.box((0.79, 0.62), (0.93, 0.80), 0.03, tyre)
    roof = rng.uniform(0.27, 0.33)  # half the roof width: saloon to SUV
    top = rng.uniform(0.04, 0.09)  # a lower roofline for saloons, a taller one for SUVs
    car.poly([(0.5 - roof, top), (0.5 + roof, top), (0.94, 0.31), (0.06, 0.31)], paint)
    car.box((0.5 - roof, top - 0.015), (0.5 + roof, top + 0.03), 0.015, paint)  # rounded roof edge
    car.box((0.0, 0.28), (1.0, 0.66), 0.06, paint)
    _shade_paint(car.colour, car.alpha)

    glass = [(0.5 - roof + 0.04, top + 0.03), (0.5 + roof - 0.04, top + 0.03), (0.87, 0.27), (0.13, 0.27)]
    car.poly(glass, (48, 44, 42), solid=False)
    sheen = [(0.5 - roof + 0.1, top + 0.04), (0.5 - roof + 0.16, top + 0.04), (0.31, 0.26), (0.24, 0.26)]
    car.poly(sheen, (84, 80, 78), solid=False)  # sky reflected in the glass
    car.box((0.44, top + 0.04), (0.56, top + 0.05), 0.0, (30, 30, 150), solid=False)  # third brake lamp
    car.box((0.03, 0.448), (0.97, 0.452), 0.0, _scaled(paint, 0.7), solid=False)  # boot lid gap
    car.box((0.39, 0.475), (0.61, 0.59), 0.01, _scaled(paint, 0.6), solid=False)  # plate recess
    car.box((0.465, 0.40), (0.535, 0.43), 0.015, (196, 198, 200), solid=False)  # maker's badge
    car.box((0.0, 0.615), (1.0, 0.71), 0.03, (40, 40, 42))  # black plastic bumper
    car.box((0.1, 0.655), (0.9, 0.665), 0.0, (30, 30, 32))  # bumper crease


def _scaled(bgr: tuple[int, int, int], k: float) -> tuple[int, int, int]:
    return (int(bgr[0] * k), int(bgr[1] * k), int(bgr[2] * k))


def _shade_paint(colour: Float, alpha: Float) -> None:
    """Top-lit gradient plus a soft highlight band, so flat paint looks like a curved body."""
    height = colour.shape[0]
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    gradient = 1.12 - 0.3 * ys + 0.12 * np.exp(-(((ys - 0.42) / 0.05) ** 2))
    colour *= np.where(alpha[..., None] > 0, gradient, 1.0)


def _draw_tail_lamps(car: _CarLayer) -> None:
    """Lamp clusters (red lens, lit core, white reversing lamp); their cores glow after dark."""
    for x0, x1 in ((0.015, 0.2), (0.8, 0.985)):
        car.box((x0, 0.33), (x1, 0.45), 0.012, (34, 28, 150), solid=False)
        car.box((x0 + 0.01, 0.345), (x1 - 0.01, 0.395), 0.01, (60, 50, 205), solid=False)
        car.box((x0 + 0.01, 0.41), (x1 - 0.01, 0.44), 0.005, (200, 200, 206), solid=False)
        core = (car.at(x0 + 0.01, 0.345), car.at(x1 - 0.01, 0.395))
        _rounded_rect(car.lamps, *core, car.px(0.01), 1.0)


# --- the plate ----------------------------------------------------------------------------


def _paste_plate(colour: Float, plate: Float, plate_alpha: Float, centre: tuple[int, int]) -> Float:
    """Alpha-blend the plate onto the car; returns the plate's own mask on the layer."""
    ph, pw = plate.shape[:2]
    x0, y0 = centre[0] - pw // 2, centre[1] - ph // 2
    region = colour[y0 : y0 + ph, x0 : x0 + pw]
    region[:] = region * (1 - plate_alpha[..., None]) + plate * plate_alpha[..., None]
    mask = np.zeros(colour.shape[:2], np.float32)
    mask[y0 : y0 + ph, x0 : x0 + pw] = plate_alpha
    return mask


def _plate_image(rng: np.random.Generator, plate: str, plate_px: int) -> tuple[Float, Float]:
    """The plate (with an optional dealer frame) drawn large, then shrunk to ``plate_px`` wide."""
    margin = int(_HI_W * 0.05)
    canvas = np.zeros((_HI_H + 3 * margin, _HI_W + 2 * margin, 3), np.float32)
    alpha = np.zeros(canvas.shape[:2], np.float32)
    frame_text = str(rng.choice(DEALERS)) if rng.random() < 0.6 else None
    if frame_text is not None:
        _dealer_frame(canvas, alpha, margin)
    _rounded_rect(canvas, (margin, margin), (margin + _HI_W, margin + _HI_H), 18, PLATE_WHITE)
    _rounded_rect(alpha, (margin, margin), (margin + _HI_W, margin + _HI_H), 18, 1.0)
    plate_area = canvas[margin : margin + _HI_H, margin : margin + _HI_W]
    _plate_face(rng, plate_area, plate)
    if frame_text is not None:  # the frame's lower bar covers the bottom of the plate
        _frame_bar(canvas, frame_text, margin)

    scale = plate_px / _HI_W
    out_size = (round(canvas.shape[1] * scale), round(canvas.shape[0] * scale))
    small = cv2.resize(canvas, out_size, interpolation=cv2.INTER_AREA)
    small_alpha = cv2.resize(alpha, out_size, interpolation=cv2.INTER_AREA)
    return np.asarray(small, np.float32), np.asarray(small_alpha, np.float32)


def _plate_face(rng: np.random.Generator, face: Float, plate: str) -> None:
    """Border, red script state name, registration stickers and the navy characters."""
    h, w = face.shape[:2]
    cv2.rectangle(face, (8, 8), (w - 9, h - 9), (150, 150, 150), 2, cv2.LINE_AA)
    _hershey_centred(
        face,
        "California",
        (w // 2, int(h * 0.2)),
        int(w * 0.46),
        cv2.FONT_HERSHEY_SCRIPT_SIMPLEX | cv2.FONT_ITALIC,
        PLATE_RED,
        3,
    )
    _sticker(face, (int(w * 0.04), int(h * 0.07)), (50, 170, 240), str(rng.integers(1, 13)))
    _sticker(face, (int(w * 0.84), int(h * 0.07)), (200, 120, 40), f"{rng.integers(24, 28)}")
    ink = np.zeros((h, w), np.float32)
    _plate_characters(ink, plate, (int(w * 0.07), int(h * 0.33), int(w * 0.93), int(h * 0.80)))
    _blend_ink(face, ink, PLATE_BLUE)
    if rng.random() < 0.5:
        _hershey_centred(
            face,
            "DMV.CA.GOV",
            (w // 2, int(h * 0.92)),
            int(w * 0.22),
            cv2.FONT_HERSHEY_SIMPLEX,
            PLATE_BLUE,
            2,
        )


def _sticker(face: Float, corner: tuple[int, int], bgr: tuple[int, int, int], text: str) -> None:
    w = face.shape[1]
    x0, y0 = corner
    x1, y1 = x0 + int(w * 0.12), y0 + int(w * 0.07)
    cv2.rectangle(face, (x0, y0), (x1, y1), bgr, -1)
    _hershey_centred(
        face,
        text,
        ((x0 + x1) // 2, (y0 + y1) // 2),
        int((x1 - x0) * 0.5),
        cv2.FONT_HERSHEY_SIMPLEX,
        (20, 20, 20),
        2,
    )


def _hershey_centred(
    img: Float,
    text: str,
    centre: tuple[int, int],
    width: int,
    font: int,
    bgr: tuple[int, int, int],
    thickness: int,
) -> None:
    """Hershey text scaled to ``width`` pixels and centred on ``centre``."""
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, thickness)
    scale = width / tw
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    origin = (centre[0] - tw // 2, centre[1] + th // 2)
    # OpenCV only draws text on 8-bit images, so draw a mask and blend it into the float canvas.
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.putText(mask, text, origin, font, scale, 255, thickness, cv2.LINE_AA)
    _blend_ink(img, mask.astype(np.float32) / 255.0, bgr)


def _blend_ink(img: Float, ink: Float, bgr: tuple[int, int, int]) -> None:
    img[:] = img * (1 - ink[..., None]) + np.array(bgr, np.float32) * ink[..., None]


@lru_cache(maxsize=64)
def _glyph(char: str, height: int) -> NDArray[np.float32]:
    """One character from Pillow's bundled font, emboldened and cropped to its ink."""
    font = ImageFont.load_default(size=200)
    stroke = 9  # plate lettering is much heavier than the font's regular weight
    left, top, right, bottom = font.getbbox(char, stroke_width=stroke)
    img = Image.new("L", (int(right - left) + 4, int(bottom - top) + 4), 0)
    ImageDraw.Draw(img).text((2 - left, 2 - top), char, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    ink = np.asarray(img, np.float32) / 255.0
    # Plate lettering is condensed: the glyph keeps 72 % of its natural width.
    new_w = max(1, round(ink.shape[1] * height / ink.shape[0] * 0.72))
    return np.asarray(cv2.resize(ink, (new_w, height), interpolation=cv2.INTER_AREA), np.float32)


def _plate_characters(ink: Float, plate: str, box: tuple[int, int, int, int]) -> None:
    """Characters centred in equal cells, like the fixed pitch of embossed plates."""
    x0, y0, x1, y1 = box
    cell = (x1 - x0) / len(plate)
    for i, char in enumerate(plate):
        glyph = _glyph(char, y1 - y0)
        if glyph.shape[1] > 0.9 * cell:  # wide letters (M, W) are squeezed, never clipped
            squeezed = cv2.resize(glyph, (int(0.9 * cell), y1 - y0), interpolation=cv2.INTER_AREA)
            glyph = np.asarray(squeezed, np.float32)
        gw = glyph.shape[1]
        left = int(x0 + i * cell + (cell - gw) / 2)
        np.maximum(ink[y0:y1, left : left + gw], glyph, out=ink[y0:y1, left : left + gw])


def _dealer_frame(canvas: Float, alpha: Float, margin: int) -> None:
    """The dark surround of a dealer's plate frame; its lettered bar is drawn over the plate later."""
    h, w = canvas.shape[:2]
    _rounded_rect(canvas, (0, 0), (w - 1, h - 1), margin, (26, 26, 28))
    _rounded_rect(alpha, (0, 0), (w - 1, h - 1), margin, 1.0)


def _frame_bar(canvas: Float, text: str, margin: int) -> None:
    h, w = canvas.shape[:2]
    top = margin + _HI_H - margin // 2
    cv2.rectangle(canvas, (margin // 2, top), (w - margin // 2, h - margin // 2), (26, 26, 28), -1)
    _hershey_centred(canvas, text, (w // 2, (top + h) // 2), int(w * 0.5), cv2.FONT_HERSHEY_DUPLEX, (225, 225, 225), 2)


# --- light and camera ---------------------------------------------------------------------


def _drop_shadow(background: Float, car_alpha: Float) -> Float:
    """Darken the ground under and just below the car so it does not float."""
    height = background.shape[0]
    shadow = cv2.GaussianBlur(car_alpha, (0, 0), max(3.0, height / 90))
    shifted = np.zeros_like(shadow)
    drop = max(2, height // 60)
    shifted[drop:] = shadow[:-drop]
    return np.asarray(background * (1 - 0.55 * shifted[..., None]), np.float32)


_AMBIENT = {  # global gain per channel (BGR) and how bright the plate lamp leaves the plate
    "day": ((1.0, 1.0, 1.0), 1.0),
    "dusk": ((0.52, 0.55, 0.66), 0.85),
    "night": ((0.22, 0.19, 0.17), 0.8),
}


def _apply_lighting(rng: np.random.Generator, frame: Float, lighting: str, lamps: Float, plate: Float) -> Float:
    """Ambient level, the plate lamp, glowing tail lamps and, at night, headlight glare."""
    ambient, plate_level = _AMBIENT[lighting]
    gain = np.array(ambient, np.float32) * rng.uniform(0.92, 1.08)
    # Plates are retro-reflective and lit by their own lamp, so they stay readable after dark.
    lit = cv2.GaussianBlur(plate, (0, 0), 3.0)[..., None]
    frame = frame * (gain * (1 - lit) + plate_level * lit)
    if lighting != "day":
        glow = cv2.GaussianBlur(lamps, (0, 0), 8.0)[..., None]
        frame = frame + np.array([40, 40, 255], np.float32) * (0.9 * lamps[..., None] + 0.5 * glow)
    if lighting == "night":
        frame = frame + _headlight_glare(rng, frame.shape[1], frame.shape[0], plate)
    return frame


def _headlight_glare(rng: np.random.Generator, width: int, height: int, plate: Float) -> Float:
    """One or two oncoming headlights: a blown-out core, a halo and a horizontal streak."""
    ys, xs = np.nonzero(plate > 0.5)
    plate_xy = np.array([xs.mean(), ys.mean()])
    glare = np.zeros((height, width), np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    for _ in range(int(rng.integers(1, 3))):
        for _attempt in range(20):  # keep the glare off the plate
            source = np.array([rng.uniform(0, width), rng.uniform(0, height * 0.45)])
            if np.linalg.norm(source - plate_xy) > 0.35 * width:
                break
        dx, dy = xx - source[0], yy - source[1]
        halo = width * rng.uniform(0.04, 0.08)
        glare += 1.6 * np.exp(-(dx**2 + dy**2) / (2 * (halo / 4) ** 2))
        glare += 0.5 * np.exp(-(dx**2 + dy**2) / (2 * halo**2))
        glare += 0.35 * np.exp(-(dx**2) / (2 * (halo * 3) ** 2) - dy**2 / (2 * 3.0**2))
    return np.asarray(glare[..., None] * np.array([225, 245, 255], np.float32), np.float32)


_NOISE = {"day": 3.0, "dusk": 4.5, "night": 6.0}  # sigma before the blur, which halves it


def _camera_degrade(rng: np.random.Generator, frame: Float, lighting: str, plate_px: int) -> Frame:
    """Optics blur, occasional motion blur, sensor noise and the camera's own JPEG pass."""
    # Blur scales with the plate so that a small plate is not smeared past reading.
    sigma = rng.uniform(0.4, 0.9) * min(1.0, plate_px / 140)
    frame = np.asarray(cv2.GaussianBlur(frame, (0, 0), sigma), np.float32)
    if rng.random() < 0.3:
        length = int(rng.integers(2, 5))
        kernel = np.full((1, length), 1.0 / length, np.float32)
        frame = np.asarray(cv2.filter2D(frame, -1, kernel), np.float32)
    # Demosaicing correlates neighbouring pixels' noise; a slight blur mimics that and keeps
    # the JPEGs small (white noise is the most expensive thing to compress).
    noise = cv2.GaussianBlur(rng.normal(0, 1, frame.shape[:2]).astype(np.float32), (0, 0), 0.7)
    noise = (_NOISE[lighting] * noise)[..., None]
    frame = np.clip(frame + noise, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 90))])
    assert ok
    return np.asarray(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), np.uint8)
