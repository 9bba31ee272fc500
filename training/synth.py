"""Synthetic licence plates for training the project's plate reader.

Renders plates in the styles of US states (California first), a few EU and Brazilian
styles, with fonts from PyPI font packages (the ``[train]`` extra) and, when present, Debian's
DejaVu fonts; then frames, stickers, perspective, crop tightness, blur, glare, dirt,
night/IR and JPEG, so that crops look like what the detector hands the reader.
Returns (BGR crop, label); the label is "" for negative (non-plate) crops.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from platekeeper.recognition.plate_input import unfold

U8 = NDArray[np.uint8]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"

FONT_PACKAGES = {
    "font_fjallaone": ("FjallaOne-Regular.ttf",),
    "font_roboto": ("Roboto-Bold.ttf", "Roboto-Medium.ttf", "Roboto-Regular.ttf", "Roboto-Black.ttf"),
    "font_source_sans_pro": ("SourceSansPro-Bold.ttf", "SourceSansPro-Semibold.ttf", "SourceSansPro-Black.ttf"),
    # Condensed gothics from the fontpkg packages (Google Fonts, SIL OFL): the family of the fonts plates
    # are stamped in. More glyph shapes (W/M/H/N, O/D/Q, B/8) than the three families above alone.
    "fontpkg_barlow_condensed": ("BarlowCondensed-Medium.ttf", "BarlowCondensed-SemiBold.ttf",
                                 "BarlowCondensed-Bold.ttf"),
    "fontpkg_fira_sans_condensed": ("FiraSansCondensed-Medium.ttf", "FiraSansCondensed-Bold.ttf"),
    "fontpkg_ibm_plex_sans_condensed": ("IBMPlexSansCondensed-Medium.ttf", "IBMPlexSansCondensed-Bold.ttf"),
    "fontpkg_saira_condensed": ("SairaCondensed-Medium.ttf", "SairaCondensed-Bold.ttf"),
    "fontpkg_pt_sans_narrow": ("PT_Sans-Narrow-Web-Regular.ttf", "PT_Sans-Narrow-Web-Bold.ttf"),
    "fontpkg_rajdhani": ("Rajdhani-SemiBold.ttf", "Rajdhani-Bold.ttf"),
    "fontpkg_bebas_neue": ("BebasNeue-Regular.ttf",),
    "fontpkg_anton": ("Anton-Regular.ttf",),
    "fontpkg_share_tech": ("ShareTech-Regular.ttf",),
}
# Variable fonts: each at these weights (the ``wght`` axis), written "path@weight".
VARIABLE_FONTS = {
    "fontpkg_oswald": ("Oswald[wght].ttf", (400, 600)),
    "fontpkg_roboto_condensed": ("RobotoCondensed[wght].ttf", (500, 750)),
    "fontpkg_archivo_narrow": ("ArchivoNarrow[wght].ttf", (500, 700)),
    "fontpkg_teko": ("Teko[wght].ttf", (450, 600)),
    "fontpkg_alumni_sans": ("AlumniSans[wght].ttf", (600, 800)),
    "fontpkg_sofia_sans": ("SofiaSans[wght].ttf", (600, 800)),
    "fontpkg_league_spartan": ("LeagueSpartan[wght].ttf", (600,)),
}
DEBIAN_FONTS = Path("/usr/share/fonts/truetype/dejavu")
DEBIAN_MAIN = ("DejaVuSansCondensed-Bold.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono-Bold.ttf")
DEBIAN_SCRIPT = ("DejaVuSerif-BoldItalic.ttf", "DejaVuSans-BoldOblique.ttf")


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "files"


@lru_cache(maxsize=1)
def font_paths() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(fonts for the plate characters, fonts for headers such as a state's name)."""
    main: list[str] = []
    script: list[str] = []
    for pkg, names in FONT_PACKAGES.items():
        folder = _package_dir(pkg)
        if folder is None:
            continue
        main += [str(folder / n) for n in names if (folder / n).is_file()]
        italic = folder / "Roboto-BoldItalic.ttf"
        if italic.is_file():
            script.append(str(italic))
    for pkg, (name, weights) in VARIABLE_FONTS.items():
        folder = _package_dir(pkg)
        if folder is not None and (folder / name).is_file():
            main += [f"{folder / name}@{w}" for w in weights]
    main += [str(DEBIAN_FONTS / n) for n in DEBIAN_MAIN if (DEBIAN_FONTS / n).is_file()]
    script += [str(DEBIAN_FONTS / n) for n in DEBIAN_SCRIPT if (DEBIAN_FONTS / n).is_file()]
    if not main:
        raise RuntimeError("no fonts: pip install -e '.[train]' (font packages) or apt-get install fonts-dejavu-core")
    return tuple(sorted(main)), tuple(sorted(script or main))


@lru_cache(maxsize=256)
def _font(spec: str, size: int) -> ImageFont.FreeTypeFont:
    """A font of ``font_paths``: a file, or "file@weight" for a variable font at that weight."""
    path, _, weight = spec.partition("@")
    font = ImageFont.truetype(path, size)
    if weight:
        font.set_variation_by_axes([int(weight)])
    return font


# --- plate strings ---------------------------------------------------------------------------

FORMATS: tuple[tuple[str, float], ...] = (
    ("DLLLDDD", 8.0),  # California passenger
    ("DLDDDDD", 1.0),
    ("DDDDDLD", 0.7),
    ("LLLDDDD", 4.0),  # NY, PA, TX ...
    ("TDDDDDDC", 1.5),  # NYC TLC
    ("DDDDDLL", 1.0),  # NY commercial
    ("LDDLLL", 1.0),  # NJ
    ("LLLDDD", 0.8),
    ("DDDLLL", 0.6),
    ("LLDDDDD", 0.6),
    ("DLLLDD", 0.5),
    ("DDDLDDD", 0.4),
    ("LLLLDD", 0.4),
    ("DDDDDD", 0.5),
    ("LLLDLDD", 1.2),  # Brazil Mercosur
    ("LLDDDLL", 1.0),  # FR / IT
    ("LLDDLLL", 0.8),  # UK
    ("DDDDLLL", 0.6),  # ES
    ("LLDDDD", 0.5),
    ("*", 1.5),  # vanity / anything
)


def random_plate(rng: np.random.Generator) -> str:
    masks, weights = zip(*FORMATS, strict=True)
    p = np.array(weights) / sum(weights)
    mask = masks[int(rng.choice(len(masks), p=p))]
    if mask == "*":
        n = int(rng.integers(2, 9))
        pool = LETTERS + DIGITS
        return "".join(pool[int(rng.integers(len(pool)))] for _ in range(n))
    out = []
    for m in mask:
        if m == "L":
            out.append(LETTERS[int(rng.integers(26))])
        elif m == "D":
            out.append(DIGITS[int(rng.integers(10))])
        else:
            out.append(m)
    return "".join(out)


# --- styles ----------------------------------------------------------------------------------

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Style:
    bg: RGB
    fg: RGB
    header: tuple[str, ...]
    header_fg: RGB
    footer: tuple[str, ...]
    band: str = ""  # "eu" (blue strip left) or "br" (blue strip on top)
    aspect: float = 2.0
    weight: float = 1.0


NAVY: RGB = (25, 35, 105)
STYLES: tuple[Style, ...] = (
    Style((242, 242, 238), NAVY, ("California",), (190, 30, 40), ("DMV.CA.GOV", "", "", "SAN JOSE"), weight=7),
    Style((20, 20, 22), (235, 200, 60), ("CALIFORNIA",), (235, 200, 60), ("",), weight=1),
    Style((30, 40, 110), (240, 200, 50), ("CALIFORNIA",), (240, 200, 50), ("",), weight=0.7),
    Style((245, 245, 240), (20, 40, 120), ("NEW YORK",), (20, 40, 120), ("EXCELSIOR", "EMPIRE STATE", "")),
    Style((245, 190, 40), (20, 30, 90), ("NEW YORK",), (20, 30, 90), ("EMPIRE STATE", "T&LC", "COMMERCIAL")),
    Style((235, 225, 160), (15, 15, 15), ("New Jersey",), (15, 15, 15), ("Garden State", "")),
    Style((240, 240, 240), (10, 10, 10), ("TEXAS", "ARIZONA", "NEVADA", "OREGON"), (120, 30, 30), ("",)),
    Style((245, 245, 245), (20, 90, 40), ("FLORIDA", "Sunshine State"), (200, 100, 20), ("",)),
    Style((250, 250, 250), (10, 10, 10), ("D", "F", "I", "NL", "E", "B", "P"), (250, 220, 0), ("",), "eu", 4.7, 2.5),
    Style((250, 205, 0), (10, 10, 10), ("GB", "NL"), (250, 220, 0), ("",), "eu", 4.7, 0.6),
    Style((250, 250, 250), (10, 10, 10), ("BRASIL",), (250, 250, 250), ("",), "br", 3.1, 1.5),
    Style((190, 190, 190), (15, 15, 15), ("SAO PAULO", "RIO DE JANEIRO"), (15, 15, 15), ("",), "", 3.1, 0.6),
)
DEALERS = ("TOYOTA OF SAN JOSE", "CAPITOL HONDA", "BAYSIDE VW", "ROBINSON AUTO", "STEVENS CREEK",
           "KINGSTON NISSAN.NET", "FREMONT FORD", "SUNSET AUTO GROUP", "NORTH BAY MAZDA", "PREMIER CHEVROLET")
NEGATIVE_WORDS = ("TOYOTA", "HONDA", "NISSAN", "MAXIMA", "ACCORD", "CAMRY", "ROBINSON", "SIERRA", "HYBRID",
                  "SAN MATEO", "DEALER", "CIVIC", "LEXUS", "AWD", "4x4", "EXIT", "STOP", "SPORT", "PRIUS")


def _pick_style(rng: np.random.Generator) -> Style:
    w = np.array([s.weight for s in STYLES])
    return STYLES[int(rng.choice(len(STYLES), p=w / w.sum()))]


def _jitter(rng: np.random.Generator, c: RGB, amount: int = 25) -> RGB:
    r, g, b = (int(np.clip(v + rng.integers(-amount, amount + 1), 0, 255)) for v in c)
    return (r, g, b)


def _text_layer(text: str, font_path: str, height: int) -> U8:
    """Alpha mask of ``text`` with its ink ``height`` pixels tall (tight box)."""
    font = _font(font_path, max(8, int(height * 1.4)))
    left, top, right, bottom = font.getbbox(text)
    img = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(img).text((2 - left, 2 - top), text, font=font, fill=255)
    arr = np.asarray(img)
    ys, xs = np.nonzero(arr > 40)
    if len(ys) == 0:
        return np.zeros((height, max(1, height // 2)), np.uint8)
    arr = arr[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = height / arr.shape[0]
    return np.asarray(cv2.resize(arr, (max(1, round(arr.shape[1] * scale)), height)), dtype=np.uint8)


def _blend(canvas: NDArray[np.float32], mask: U8, x: int, y: int, colour: RGB, alpha: float = 1.0) -> None:
    h, w = mask.shape
    H, W = canvas.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    m = mask[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)[..., None] / 255.0 * alpha
    canvas[y0:y1, x0:x1] = canvas[y0:y1, x0:x1] * (1 - m) + np.array(colour[::-1], np.float32) * m


def _groups(plate: str, rng: np.random.Generator) -> list[str]:
    """Split where letters meet digits (how plates space their characters), sometimes not at all."""
    if rng.random() < 0.3 or len(plate) < 4:
        return [plate]
    parts = [plate[0]]
    for c in plate[1:]:
        if c.isdigit() != parts[-1][-1].isdigit() and len(parts) < 3:
            parts.append(c)
        else:
            parts[-1] += c
    return parts


def _main_text(rng: np.random.Generator, plate: str, font: str, char_h: int, max_w: int) -> U8:
    """The plate's characters as one alpha mask, condensed to fit ``max_w``."""
    stacked = len(plate) >= 6 and rng.random() < 0.06
    body, tail = (plate[:-2], plate[-2:]) if stacked else (plate, "")
    sep = str(rng.choice(["", " ", "-", "dot", "gap"])) if len(plate) > 3 else ""
    pieces: list[U8] = []
    for i, group in enumerate(_groups(body, rng)):
        if i:
            if sep in ("-", "dot"):
                d = max(2, char_h // 7)
                mark = np.zeros((char_h, char_h // 2), np.uint8)
                if sep == "-":
                    mark[char_h // 2 - d // 2 : char_h // 2 + d, 2:-2] = 255
                else:
                    cv2.circle(mark, (char_h // 4, char_h // 2), d, 255, -1)
                pieces.append(mark)
            elif sep in (" ", "gap"):
                pieces.append(np.zeros((char_h, char_h // (3 if sep == " " else 2)), np.uint8))
        pieces.append(_text_layer(group, font, char_h))
    if tail:  # two small characters stacked at the end, read top then bottom
        small = char_h // 2 - 1
        a, b = _text_layer(tail[0], font, small), _text_layer(tail[1], font, small)
        w = max(a.shape[1], b.shape[1])
        col = np.zeros((char_h, w + 2), np.uint8)
        col[: a.shape[0], : a.shape[1]] = a
        col[char_h - b.shape[0] :, : b.shape[1]] = b
        pieces += [np.zeros((char_h, char_h // 6), np.uint8), col]
    mask = np.concatenate(pieces, axis=1)
    squeeze = rng.uniform(0.65, 1.15)
    width = min(max_w, max(4, round(mask.shape[1] * squeeze)))
    return np.asarray(cv2.resize(mask, (width, char_h)), dtype=np.uint8)


@dataclass
class Plate:
    image: NDArray[np.float32]  # BGR float 0..255
    text_box: tuple[int, int, int, int]  # x, y, w, h of the main characters


def render_plate(rng: np.random.Generator, plate: str, two_line: bool = False) -> Plate:
    style = _pick_style(rng)
    mains, _ = font_paths()
    font = mains[int(rng.integers(len(mains)))]
    aspect = style.aspect if not two_line else rng.uniform(1.1, 1.5)
    H = 120
    W = round(H * aspect)
    canvas = np.empty((H, W, 3), np.float32)
    canvas[:] = np.array(_jitter(rng, style.bg)[::-1], np.float32)
    if rng.random() < 0.4:  # gradient or scenic tint
        grad = np.linspace(rng.uniform(-40, 10), rng.uniform(-10, 40), H, dtype=np.float32)[:, None, None]
        canvas += grad * rng.uniform(0.2, 1.0, size=3).astype(np.float32)
    fg = _jitter(rng, style.fg, 30)
    x_off, top_band = _furniture(rng, canvas, style, fg, two_line)
    box = _characters(rng, canvas, plate, font, fg, x_off, top_band, two_line)
    _decorate(rng, canvas, style)
    return Plate(canvas, box)


def _furniture(
    rng: np.random.Generator, canvas: NDArray[np.float32], style: Style, fg: RGB, two_line: bool
) -> tuple[int, int]:
    """Bands, the state's name and the footer; returns the space they take (left, top)."""
    H, W = canvas.shape[:2]
    mains, scripts = font_paths()
    x_off = 0
    top_band = 0
    if style.band == "eu":
        x_off = round(H * 0.42)
        cv2.rectangle(canvas, (0, 0), (x_off, H), (150, 50, 10), -1)
        code = _text_layer(str(rng.choice(style.header)), mains[0], H // 5)
        _blend(canvas, code, (x_off - code.shape[1]) // 2, H - H // 5 - H // 8, (250, 250, 250))
    elif style.band == "br":
        top_band = round(H * 0.24)
        cv2.rectangle(canvas, (0, 0), (W, top_band), (160, 60, 10), -1)
        hdr = _text_layer("BRASIL", mains[0], top_band // 2)
        _blend(canvas, hdr, (W - hdr.shape[1]) // 2, top_band // 4, (250, 250, 250))
    elif rng.random() < 0.9:
        head = str(rng.choice(style.header))
        hfont = scripts[int(rng.integers(len(scripts)))] if head[1:].islower() else mains[int(rng.integers(len(mains)))]
        hh = round(H * rng.uniform(0.12, 0.2))
        hdr = _text_layer(head, hfont, hh)
        hdr = hdr[:, : min(hdr.shape[1], W - 8)]
        _blend(canvas, hdr, (W - hdr.shape[1]) // 2, round(H * 0.06), _jitter(rng, style.header_fg, 20))
    foot = str(rng.choice(style.footer))
    if foot and not two_line:
        fh = round(H * 0.1)
        ftr = _text_layer(foot, mains[int(rng.integers(len(mains)))], fh)[:, : W - 8]
        _blend(canvas, ftr, (W - ftr.shape[1]) // 2, H - fh - round(H * 0.06), fg)
    return x_off, top_band


def _characters(
    rng: np.random.Generator, canvas: NDArray[np.float32], plate: str, font: str, fg: RGB,
    x_off: int, top_band: int, two_line: bool,
) -> tuple[int, int, int, int]:
    """The plate's characters, on one line or two; returns their box."""
    H, W = canvas.shape[:2]
    avail_w = W - x_off - round(0.1 * W)
    if two_line:
        cut = int(rng.integers(2, max(3, len(plate) - 1)))
        lines = [plate[:cut], plate[cut:]]
        char_h = round(H * rng.uniform(0.28, 0.34))
        ys = [round(H * 0.2), round(H * 0.2) + char_h + round(H * 0.06)]
        boxes = []
        for line, y in zip(lines, ys, strict=True):
            m = _main_text(rng, line, font, char_h, avail_w)
            x = (W - m.shape[1]) // 2
            _blend(canvas, m, x, y, fg)
            boxes.append((x, y, m.shape[1], m.shape[0]))
        x0 = min(b[0] for b in boxes)
        x1 = max(b[0] + b[2] for b in boxes)
        box = (x0, ys[0], x1 - x0, ys[1] + char_h - ys[0])
    else:
        char_h = round((H - top_band) * rng.uniform(0.42, 0.56))
        m = _main_text(rng, plate, font, char_h, avail_w)
        x = x_off + (W - x_off - m.shape[1]) // 2 + int(rng.integers(-4, 5))
        y = top_band + (H - top_band - char_h) // 2 + int(rng.integers(-4, 6))
        if rng.random() < 0.15:  # embossed: a light edge beside the ink
            _blend(canvas, m, x + 2, y + 2, (255, 255, 255), 0.5)
        _blend(canvas, m, x, y, fg)
        box = (x, y, m.shape[1], m.shape[0])
    return box


def _decorate(rng: np.random.Generator, canvas: NDArray[np.float32], style: Style) -> None:
    H, W = canvas.shape[:2]
    if rng.random() < 0.5:  # bolt holes
        for cx in (round(W * 0.2), round(W * 0.8)):
            cv2.circle(canvas, (cx, round(H * 0.1)), max(2, H // 30), (90, 90, 90), -1)
    if rng.random() < 0.35:  # registration stickers in the top corners
        for cx in (4, W - H // 4 - 4):
            if rng.random() < 0.6:
                colour = tuple(float(v) for v in rng.integers(0, 255, 3))
                cv2.rectangle(canvas, (cx, 4), (cx + H // 4, 4 + H // 6), colour, -1)
    if rng.random() < 0.5:  # raised rim
        cv2.rectangle(canvas, (1, 1), (W - 2, H - 2), tuple(float(v) * 0.6 for v in style.fg[::-1]), 2)


def _frame(rng: np.random.Generator, plate: NDArray[np.float32]) -> NDArray[np.float32]:
    """A dealer's frame around the plate, its name in the bottom bar."""
    H, W = plate.shape[:2]
    t, b = round(H * rng.uniform(0.03, 0.1)), round(H * rng.uniform(0.08, 0.22))
    side = round(H * rng.uniform(0.03, 0.08))
    colour = (rng.uniform(10, 60),) * 3 if rng.random() < 0.7 else (rng.uniform(150, 220),) * 3
    out = np.empty((H + t + b, W + 2 * side, 3), np.float32)
    out[:] = np.array(colour, np.float32)
    out[t : t + H, side : side + W] = plate
    if b > 8:
        mains, _ = font_paths()
        name = _text_layer(str(rng.choice(DEALERS)), mains[int(rng.integers(len(mains)))], round(b * 0.6))
        name = name[:, : W]
        ink = (235, 235, 235) if colour[0] < 100 else (20, 20, 20)
        _blend(out, name, (out.shape[1] - name.shape[1]) // 2, t + H + (b - name.shape[0]) // 2, ink)
    return out


def _background(rng: np.random.Generator, h: int, w: int) -> NDArray[np.float32]:
    """Car body or bumper around the plate: a tint with smooth noise."""
    base = rng.uniform(10, 240, size=3).astype(np.float32)
    small = rng.normal(0, rng.uniform(5, 40), size=(max(2, h // 16), max(2, w // 16), 3)).astype(np.float32)
    noise = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(base + noise, 0, 255).astype(np.float32)


def _place(rng: np.random.Generator, plate: Plate, tight: str) -> U8:
    """The plate in a scene, warped in perspective, cropped as a detector would crop it."""
    img = plate.image
    H, W = img.shape[:2]
    pad = round(H * 0.8)
    scene = _background(rng, H + 2 * pad, W + 2 * pad)
    scene[pad : pad + H, pad : pad + W] = img
    if rng.random() < 0.4:  # shadow across the scene
        x = int(rng.integers(0, scene.shape[1]))
        scene[:, :x] *= rng.uniform(0.35, 0.8)
    src = np.float32([[pad, pad], [pad + W, pad], [pad + W, pad + H], [pad, pad + H]])
    j = H * 0.12
    dst = src + rng.uniform(-j, j, size=(4, 2)).astype(np.float32)
    ang = math.radians(rng.normal(0, 4))
    c = src.mean(axis=0)
    rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]], np.float32)
    dst = (dst - c) @ rot.T + c
    M = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(scene, M, (scene.shape[1], scene.shape[0]), borderMode=cv2.BORDER_REPLICATE)
    if tight == "text":
        x, y, w, h = plate.text_box
        pts = np.float32([[x, y], [x + w, y], [x + w, y + h], [x, y + h]]) + pad
        mx, my = rng.uniform(0.05, 0.8) * h, rng.uniform(0.0, 0.45) * h
    else:
        pts = src.copy()
        lo, hi = (-0.02, 0.12) if tight == "plate" else (0.15, 0.45)
        mx, my = rng.uniform(lo, hi) * H, rng.uniform(lo, hi) * H
    q = cv2.perspectiveTransform(pts[None], M)[0]
    margin = np.array([mx, my])
    x0, y0 = q.min(axis=0) - margin
    x1, y1 = q.max(axis=0) + margin
    x0, y0 = max(0, int(x0)), max(0, int(y0))
    x1, y1 = min(warped.shape[1], int(x1)), min(warped.shape[0], int(y1))
    return np.clip(warped[y0:y1, x0:x1], 0, 255).astype(np.uint8)


def degrade(rng: np.random.Generator, crop: U8) -> U8:
    """Camera effects: resolution, blur, glare, dirt, night/IR, noise, JPEG."""
    img = crop.astype(np.float32)
    h, w = img.shape[:2]
    if rng.random() < 0.25:  # glare
        mask = np.zeros((h, w), np.float32)
        cv2.ellipse(mask, (int(rng.integers(0, w)), int(rng.integers(0, h))),
                    (int(w * rng.uniform(0.1, 0.5)), int(h * rng.uniform(0.1, 0.5))), float(rng.uniform(0, 180)),
                    0, 360, 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, w / 20))
        img += mask[..., None] * rng.uniform(60, 200)
    if rng.random() < 0.25:  # dirt
        for _ in range(int(rng.integers(1, 8))):
            c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            cv2.circle(img, c, int(rng.integers(1, max(2, h // 8))), (rng.uniform(30, 110),) * 3, -1)
    night = rng.random() < 0.15
    if night:  # IR: grey, the retroreflective plate bright, everything else dark
        g = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
        img = np.repeat((np.clip((g - 60) * rng.uniform(1.2, 2.2), 0, 255))[..., None], 3, axis=2)
    # resolution: shrink to a small plate then back (upscaled small plates look like this)
    target_h = rng.uniform(14, 60)
    if h > target_h:
        s = target_h / h
        small = cv2.resize(img, (max(4, round(w * s)), max(4, round(h * s))), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.4:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.6))
    if rng.random() < 0.15:  # motion blur
        k = int(rng.integers(3, 8))
        kern = np.zeros((k, k), np.float32)
        kern[k // 2, :] = 1.0 / k
        img = cv2.filter2D(img, -1, kern)
    a, b = rng.uniform(0.5, 1.3), rng.uniform(-50, 40)
    img = img * a + b
    if rng.random() < 0.3:
        gamma = rng.uniform(0.5, 1.8)
        img = 255.0 * (np.clip(img, 0, 255) / 255.0) ** gamma
    img += rng.normal(0, rng.uniform(0, 10), size=img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(15, 90))])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def negative(rng: np.random.Generator) -> U8:
    """A crop with no plate: background, or a word from a car or a frame."""
    h, w = int(rng.integers(30, 120)), int(rng.integers(60, 300))
    bg = _background(rng, h, w)
    if rng.random() < 0.8:
        mains, scripts = font_paths()
        fonts = mains + scripts
        word = _text_layer(str(rng.choice(NEGATIVE_WORDS + DEALERS)), fonts[int(rng.integers(len(fonts)))],
                           round(h * rng.uniform(0.3, 0.7)))
        word = word[:, : w - 2]
        ink = (255 - bg.mean(axis=(0, 1))).clip(0, 255)
        _blend(bg, word, (w - word.shape[1]) // 2, (h - word.shape[0]) // 2, (int(ink[2]), int(ink[1]), int(ink[0])))
    return degrade(rng, bg.astype(np.uint8))


def sample(rng: np.random.Generator) -> tuple[U8, str]:
    """One training crop and its label."""
    if rng.random() < 0.06:
        return negative(rng), ""
    plate = random_plate(rng)
    two_line = rng.random() < 0.08
    rendered = render_plate(rng, plate, two_line=two_line)
    if not two_line and rng.random() < 0.3:
        framed = _frame(rng, rendered.image)
        dy = (framed.shape[0] - rendered.image.shape[0])
        t = round(dy * 0.3)  # approximate: the top bar is the thinner one
        x, y, w, h = rendered.text_box
        side = (framed.shape[1] - rendered.image.shape[1]) // 2
        rendered = Plate(framed, (x + side, y + t, w, h))
    r = rng.random()
    tight = "plate" if two_line or r < 0.55 else ("text" if r < 0.85 else "loose")
    crop = degrade(rng, _place(rng, rendered, tight))
    if two_line:
        crop = unfold(crop)
    return crop, plate


def demo_sample(rng: np.random.Generator) -> tuple[U8, str]:
    """A plate in the style of the demo scenes (``platekeeper.demo.scenes``, the project's own
    stroke-font renderer), placed and degraded like the others: more glyph shapes for the reader."""
    from platekeeper.demo.scenes import _plate_image  # the demo's plate face, reused on purpose

    plate = random_plate(rng)
    face, _ = _plate_image(rng, plate, int(rng.integers(160, 320)))
    h, w = face.shape[:2]
    text_box = (round(0.06 * w), round(0.28 * h), round(0.88 * w), round(0.5 * h))
    crop = degrade(rng, _place(rng, Plate(np.clip(face, 0, 255).astype(np.float32), text_box),
                               "plate" if rng.random() < 0.6 else "text"))
    return crop, plate
