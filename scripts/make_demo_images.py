"""Render the demo scenes shipped in ``src/platekeeper/demo/assets``, and optionally check them.

    python scripts/make_demo_images.py            # write the JPEGs and manifest.json
    python scripts/make_demo_images.py --verify   # then read every plate back with RapidOCR

The images are drawn by ``platekeeper.demo.scenes`` from the fixed table below, so the
output is the same on every run; re-run this after changing the renderer and commit
the result. No real photograph or data set is involved.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from typing import Any

import cv2

from platekeeper.demo.scenes import ASSETS_DIR, MANIFEST_PATH, DemoScene, render_scene

JPEG_QUALITY = 85
MAX_FILE_BYTES = 150_000
MAX_TOTAL_BYTES = 2_500_000
FRAME_SIZES = {"fixed-1": (1280, 720), "fixed-2": (1280, 720), "mobile-1": (960, 540)}


@dataclass(frozen=True)
class Shot:
    """One row of the table: what the camera saw and how the scene is drawn."""

    camera: str
    offset_s: int
    plate: str
    colour: str
    angle_deg: float
    lighting: str
    plate_px: int


# fixed-1 watches a lot entrance by day, fixed-2 a side street into the night, and mobile-1
# is a patrol car with a smaller sensor and whatever angle the road gives it. 9BKS356 and
# 7DFP864 are each seen by two cameras, so a plate search in the demo has something to find.
SHOTS = (
    Shot("fixed-1", 60, "7DFP864", "silver", -6.0, "day", 150),
    Shot("fixed-1", 540, "8KZM402", "white", 4.0, "day", 120),
    Shot("fixed-1", 1080, "6TRV591", "red", 10.0, "day", 185),
    Shot("fixed-1", 1740, "9BKS356", "blue", -12.0, "day", 100),
    Shot("fixed-1", 2460, "5GUE748", "black", 8.0, "dusk", 140),
    Shot("fixed-1", 3300, "8LCX019", "grey", -3.0, "night", 165),
    Shot("fixed-2", 240, "9HWN237", "green", 22.0, "day", 130),
    Shot("fixed-2", 900, "6MJT620", "white", 28.0, "dusk", 160),
    Shot("fixed-2", 1500, "8RNA173", "silver", 18.0, "dusk", 95),
    Shot("fixed-2", 2100, "7DFP864", "silver", 25.0, "night", 145),
    Shot("fixed-2", 2880, "7VYH985", "red", 32.0, "night", 175),
    Shot("fixed-2", 3480, "9PEL442", "black", 15.0, "night", 120),
    Shot("mobile-1", 420, "6XDW308", "grey", -30.0, "day", 110),
    Shot("mobile-1", 1260, "8SAU761", "blue", 20.0, "day", 150),
    Shot("mobile-1", 1920, "9BKS356", "blue", -18.0, "dusk", 125),
    Shot("mobile-1", 2640, "7CGR536", "white", 35.0, "day", 85),
    Shot("mobile-1", 3060, "9NTF214", "green", -25.0, "night", 140),
    Shot("mobile-1", 3540, "5WKB089", "red", 12.0, "dusk", 100),
)


def file_name(shot: Shot, index: int) -> str:
    return f"{shot.camera}-{index:02d}.jpg"


def write_assets() -> list[DemoScene]:
    """Render every shot to JPEG and write the manifest, in capture order."""
    ASSETS_DIR.mkdir(parents=True, exist_ok=True)
    scenes = []
    counts: dict[str, int] = {}
    for seed, shot in enumerate(SHOTS, start=1):
        counts[shot.camera] = counts.get(shot.camera, 0) + 1
        image = render_scene(
            shot.plate,
            seed,
            colour=shot.colour,
            angle_deg=shot.angle_deg,
            lighting=shot.lighting,
            size=FRAME_SIZES[shot.camera],
            plate_px=shot.plate_px,
        )
        scene = DemoScene(
            file_name(shot, counts[shot.camera]), shot.plate, shot.colour, shot.camera, shot.offset_s
        )
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        assert ok
        if len(jpeg) > MAX_FILE_BYTES:
            raise SystemExit(f"{scene.file} is {len(jpeg)} bytes, over {MAX_FILE_BYTES}")
        scene.path.write_bytes(jpeg.tobytes())
        scenes.append(scene)
    scenes.sort(key=lambda s: s.offset_s)
    MANIFEST_PATH.write_text(json.dumps([s.to_json() for s in scenes], indent=2) + "\n", encoding="utf-8")
    total = sum(s.path.stat().st_size for s in scenes) + MANIFEST_PATH.stat().st_size
    print(f"wrote {len(scenes)} scenes, {total / 1e6:.2f} MB in all, to {ASSETS_DIR}")
    if total > MAX_TOTAL_BYTES:
        raise SystemExit(f"assets total {total} bytes, over {MAX_TOTAL_BYTES}")
    return scenes


def verify(scenes: list[DemoScene]) -> int:
    """Read each scene with RapidOCR and print a table; returns how many read exactly."""
    from rapidocr import RapidOCR  # only the check needs the models

    engine = RapidOCR(params={"Global.log_level": "error"})
    exact = 0
    print(f"{'file':<16} {'camera':<9} {'plate':<8} {'read':<4} texts")
    for scene in scenes:
        result: Any = engine(str(scene.path))  # a full pipeline run returns RapidOCROutput
        texts = list(result.txts or ())
        found = scene.plate in {re.sub(r"[\s\-]", "", t).upper() for t in texts}
        exact += found
        shown = ", ".join(f"{t} ({s:.2f})" for t, s in zip(texts, result.scores or (), strict=False))
        print(f"{scene.file:<16} {scene.camera:<9} {scene.plate:<8} {'yes' if found else 'NO':<4} {shown}")
    print(f"{exact}/{len(scenes)} plates read exactly")
    return exact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verify", action="store_true", help="read the plates back with RapidOCR")
    args = parser.parse_args()
    scenes = write_assets()
    if args.verify and verify(scenes) < 0.8 * len(scenes):
        sys.exit(1)


if __name__ == "__main__":
    main()
