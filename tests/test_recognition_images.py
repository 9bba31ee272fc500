"""Image decoding errors say what is wrong."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from platekeeper.recognition.images import ImageDecodeError, decode_image, load_image


def _jpeg() -> bytes:
    image = np.random.default_rng(0).integers(0, 255, size=(64, 96, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return buf.tobytes()


def test_decodes_jpeg_and_png() -> None:
    assert decode_image(_jpeg()).shape == (64, 96, 3)
    ok, png = cv2.imencode(".png", np.zeros((5, 7), dtype=np.uint8))
    assert ok
    image = decode_image(png.tobytes())
    assert image.shape == (5, 7, 3) and image.dtype == np.uint8


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"hello, world", "not an image"),
        (b"GIF89a" + b"\x00" * 20, "unsupported format"),
        (b"%PDF-1.4 ...", "unsupported format"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 20, "unsupported format"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 10, "png"),
    ],
)
def test_decode_errors(data: bytes, message: str) -> None:
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(data)


def test_truncated_jpeg() -> None:
    data = _jpeg()
    with pytest.raises(ImageDecodeError, match="truncated"):
        decode_image(data[: len(data) // 2])


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(ImageDecodeError, ValueError)


def test_load_image_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageDecodeError, match="not found"):
        load_image(tmp_path / "missing.jpg")
    with pytest.raises(ImageDecodeError, match="directory"):
        load_image(tmp_path)
    good = tmp_path / "x.jpg"
    good.write_bytes(_jpeg())
    assert load_image(good).shape == (64, 96, 3)
