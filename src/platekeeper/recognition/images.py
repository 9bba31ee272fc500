"""Decoding still images with clear errors (a bad file must not stop a batch)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from platekeeper.recognition.base import Image

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".jp2", ".pgm", ".ppm"})

# Leading bytes of the formats OpenCV decodes, and of common ones it does not.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"RIFF", "webp"),
    (b"\x00\x00\x00\x0cjP  ", "jpeg2000"),
    (b"P5", "pgm"),
    (b"P6", "ppm"),
)
_UNSUPPORTED: tuple[tuple[bytes, str], ...] = (
    (b"GIF8", "GIF"),
    (b"%PDF", "PDF"),
    (b"8BPS", "PSD"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"hevc")


class ImageDecodeError(ValueError):
    """The bytes are not an image this system can read; the message says why."""


def sniff_format(data: bytes) -> str | None:
    """The image format named by the leading bytes, or None."""
    for magic, name in _SIGNATURES:
        if data.startswith(magic):
            if name == "webp" and data[8:12] != b"WEBP":
                continue
            return name
    return None


def _unsupported(data: bytes) -> str | None:
    for magic, name in _UNSUPPORTED:
        if data.startswith(magic):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIC/AVIF"
    return None


def _truncated(data: bytes, fmt: str) -> bool:
    if fmt == "jpeg":
        return b"\xff\xd9" not in data[-4096:]  # end-of-image marker (some cameras append a trailer)
    if fmt == "png":
        return b"IEND" not in data[-16:]
    return False


def decode_image(data: bytes) -> Image:
    """Decode image bytes to a BGR array, or raise ImageDecodeError saying what is wrong."""
    if not data:
        raise ImageDecodeError("empty file")
    other = _unsupported(data)
    if other is not None:
        raise ImageDecodeError(f"unsupported format: {other}")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageDecodeError("not an image (unrecognised content)")
    buf = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        if _truncated(data, fmt):
            raise ImageDecodeError(f"truncated or corrupt {fmt} image")
        raise ImageDecodeError(f"corrupt {fmt} image (could not be decoded)")
    if fmt == "jpeg" and _truncated(data, fmt):
        # OpenCV fills the missing part with grey; a partial picture must not be read as whole.
        raise ImageDecodeError("truncated jpeg image")
    result: Image = np.ascontiguousarray(image, dtype=np.uint8)
    return result


def load_image(path: str | Path) -> Image:
    """Read and decode an image file; ImageDecodeError for unreadable or non-image files."""
    p = Path(path)
    if p.is_dir():
        raise ImageDecodeError(f"is a directory, not an image: {p}")
    try:
        data = p.read_bytes()
    except FileNotFoundError as exc:
        raise ImageDecodeError(f"file not found: {p}") from exc
    except OSError as exc:
        raise ImageDecodeError(f"cannot read file: {exc.strerror or exc}") from exc
    return decode_image(data)
