"""Privacy masks (CAP-3): masked pixels are black before anything reads or stores them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from platekeeper.capture.masks import apply_privacy_masks


@pytest.mark.req("CAP-3")
def test_polygon_is_filled_black_on_a_copy() -> None:
    image = np.full((100, 200, 3), 200, dtype=np.uint8)
    masked = apply_privacy_masks(image, [[(10, 10), (60, 10), (60, 50), (10, 50)]])
    assert (image == 200).all(), "the input must not change"
    assert (masked[10:51, 10:61] == 0).all()
    assert (masked[60:, :] == 200).all() and (masked[:, 70:] == 200).all()


@pytest.mark.req("CAP-3")
def test_several_overlapping_polygons_and_out_of_frame_points() -> None:
    image = np.full((50, 50, 3), 255, dtype=np.uint8)
    masked = apply_privacy_masks(
        image,
        [[(0, 0), (30, 0), (30, 30), (0, 30)], [(20, 20), (80, 20), (80, 80), (20, 80)]],
    )
    assert (masked[0:31, 0:31] == 0).all()
    assert (masked[20:, 20:] == 0).all(), "overlap and off-image parts stay filled"
    assert (masked[40:, :10] == 255).all()


@pytest.mark.req("CAP-3")
def test_triangle_and_greyscale() -> None:
    grey = np.full((40, 40), 90, dtype=np.uint8)
    masked = apply_privacy_masks(grey, [[(0.0, 0.0), (39.0, 0.0), (0.0, 39.0)]])
    assert masked[1, 1] == 0 and masked[38, 38] == 90


def test_no_polygons_returns_a_copy() -> None:
    image = np.ones((4, 4, 3), dtype=np.uint8)
    out = apply_privacy_masks(image, [])
    assert out is not image and (out == image).all()


@pytest.mark.req("CAP-3")
@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ([(0, 0), (1, 1)], "at least 3 points"),
        ([(0, 0), (1, math.nan), (2, 2)], "finite"),
        ([(0, 0), (1, math.inf), (2, 2)], "finite"),
        ([(0, 0), ("a", 1), (2, 2)], "pairs of numbers"),
        ([(0, 0, 0), (1, 1, 1), (2, 2, 2)], "pairs of numbers"),
        ([(0, 0), (1e12, 1), (2, 2)], "beyond"),
    ],
)
def test_invalid_polygons_are_rejected(polygon: list[tuple[float, float]], message: str) -> None:
    image = np.zeros((10, 10, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=message):
        apply_privacy_masks(image, [[(0, 0), (5, 0), (5, 5)], polygon])


@pytest.mark.req("CAP-3")
@pytest.mark.parametrize(
    "points",
    [[[0, 0], [1, 1]], [[0, 0], [1, "a"], [2, 2]], [[0, 0], [-1, 1], [2, 2]], [[0, 0], [float("nan"), 1], [2, 2]]],
)
def test_camera_masks_refuse_what_cannot_be_stored(points: list[list[object]]) -> None:
    from platekeeper.services.cameras import CameraError, parse_polygon, validate_polygon

    with pytest.raises(CameraError):
        validate_polygon(points)  # type: ignore[arg-type]
    assert parse_polygon("0,0 10,0 10,10") == [[0.0, 0.0], [10.0, 0.0], [10.0, 10.0]]
