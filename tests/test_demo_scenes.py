"""The synthetic demo scenes: deterministic rendering and a manifest that matches the shipped JPEGs."""

from __future__ import annotations

import re

import numpy as np
import pytest
from numpy.typing import NDArray

from platekeeper.demo.scenes import (
    CAMERAS,
    CAR_COLOURS,
    MANIFEST_PATH,
    PLATE_RE,
    DemoScene,
    load_manifest,
    render_scene,
)


def _render(seed: int, **overrides: object) -> NDArray[np.uint8]:
    args: dict[str, object] = {"colour": "silver", "angle_deg": 15.0, "lighting": "dusk"}
    args.update(overrides)
    return render_scene("7ABC123", seed, **args)  # type: ignore[arg-type]


def test_same_seed_gives_identical_pixels() -> None:
    assert np.array_equal(_render(3), _render(3))


def test_different_seeds_give_different_scenes() -> None:
    assert not np.array_equal(_render(3), _render(4))


@pytest.mark.parametrize("size", [(1280, 720), (960, 540)])
@pytest.mark.parametrize("lighting", ["day", "night"])
def test_frame_has_requested_size_and_dtype(size: tuple[int, int], lighting: str) -> None:
    image = _render(7, size=size, lighting=lighting)
    assert image.shape == (size[1], size[0], 3)
    assert image.dtype == np.uint8


def test_night_is_darker_than_day() -> None:
    day, night = _render(5, lighting="day"), _render(5, lighting="night")
    assert night.mean() < 0.6 * day.mean()


@pytest.mark.parametrize("bad", [{"colour": "mauve"}, {"lighting": "noon"}])
def test_unknown_colour_or_lighting_is_refused(bad: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="unknown"):
        _render(1, **bad)


def test_manifest_lists_existing_small_jpegs() -> None:
    scenes = load_manifest()
    assert len(scenes) >= 15
    total = MANIFEST_PATH.stat().st_size
    for scene in scenes:
        data = scene.path.read_bytes()
        assert data[:3] == b"\xff\xd8\xff", f"{scene.file} is not a JPEG"
        assert len(data) <= 150_000
        total += len(data)
    assert total <= 2_500_000


def test_manifest_entries_are_well_formed() -> None:
    scenes = load_manifest()
    assert len({s.file for s in scenes}) == len(scenes)
    for scene in scenes:
        assert PLATE_RE.fullmatch(scene.plate) and re.fullmatch(r"^[0-9][A-Z]{3}[0-9]{3}$", scene.plate)
        assert scene.colour in CAR_COLOURS
        assert scene.camera in CAMERAS
        assert isinstance(scene.offset_s, int) and scene.offset_s >= 0
    assert [s.offset_s for s in scenes] == sorted(s.offset_s for s in scenes)


def test_every_camera_contributes_and_some_plate_is_seen_twice() -> None:
    scenes = load_manifest()
    assert {s.camera for s in scenes} == set(CAMERAS)
    cameras_by_plate: dict[str, set[str]] = {}
    for scene in scenes:
        cameras_by_plate.setdefault(scene.plate, set()).add(scene.camera)
    assert any(len(cams) >= 2 for cams in cameras_by_plate.values())


def test_manifest_round_trips_through_json_fields() -> None:
    scene = load_manifest()[0]
    assert DemoScene(**scene.to_json()) == scene
    assert set(scene.to_json()) == {"file", "plate", "colour", "camera", "offset_s"}


@pytest.mark.slow
def test_rapidocr_reads_most_shipped_plates_exactly() -> None:
    cv2 = pytest.importorskip("cv2")
    rapidocr = pytest.importorskip("rapidocr")
    engine = rapidocr.RapidOCR(params={"Global.log_level": "error"})
    scenes = load_manifest()
    misread = []
    for scene in scenes:
        result = engine(cv2.imread(str(scene.path)))
        texts = {re.sub(r"[\s\-]", "", t).upper() for t in (result.txts or ())}
        if scene.plate not in texts:
            misread.append((scene.file, scene.plate, sorted(texts)))
    assert len(scenes) - len(misread) >= 0.8 * len(scenes), misread
