"""Blurring faces and people in stored frames (CAP-4): detection only, nothing identifies anyone."""

from __future__ import annotations

import numpy as np
import pytest

from platekeeper.recognition.base import Box
from platekeeper.recognition.people import PeopleBlurrer, blur_regions


@pytest.mark.req("CAP-4")
def test_blur_regions_destroys_detail_inside_only() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(120, 160, 3), dtype=np.uint8)
    out = blur_regions(image, [Box(40, 30, 40, 40)], grow=0.0)
    assert out is not image and np.array_equal(image, image.copy())
    inside, before = out[30:70, 40:80].astype(float), image[30:70, 40:80].astype(float)
    assert inside.std() < 0.3 * before.std()  # the texture (a face) is gone
    mask = np.ones(image.shape[:2], bool)
    mask[30:70, 40:80] = False
    assert np.array_equal(out[mask], image[mask])  # nothing else changed
    assert np.array_equal(blur_regions(image, []), image)


@pytest.mark.req("CAP-4")
def test_people_blurrer_says_when_it_cannot_run() -> None:
    blurrer = PeopleBlurrer()
    image = np.zeros((64, 64, 3), np.uint8)
    if blurrer.available:
        assert blurrer.blur(image).shape == image.shape
    else:
        with pytest.raises(RuntimeError, match="cascade"):
            blurrer.blur(image)
