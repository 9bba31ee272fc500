"""Sampling frames from video files, and keeping the best read of each plate."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from platekeeper.recognition.base import Image, PlateRead
from platekeeper.recognition.tracking import PlateTracker

F = TypeVar("F")


class VideoReadError(ValueError):
    """The video cannot be opened or decoded; the message says why."""


def sample_video(path: str | Path, fps: float) -> Iterator[tuple[int, float, Image]]:
    """Yield ``(frame_index, timestamp_seconds, frame)`` about ``fps`` times per second of video.

    Frames are decoded sequentially (grab without decoding the frames skipped), so it
    works for any container OpenCV reads. Timestamps come from the frame index and the
    stream's frame rate, falling back to the container's position when no rate is known.
    """
    if not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"sampling rate must be a positive number of frames per second, got {fps!r}")
    source = str(path)
    is_stream = "://" in source  # rtsp://, http://: a live stream, not a file
    p = Path(path)
    if not is_stream and not p.is_file():
        raise VideoReadError(f"video file not found: {p}")
    cap = cv2.VideoCapture(source)
    try:
        if not cap.isOpened():
            raise VideoReadError(f"cannot open video (unsupported or corrupt): {p}")
        yield from _frames(cap, p, fps)
    finally:
        cap.release()


def _frames(cap: cv2.VideoCapture, path: Path, fps: float) -> Iterator[tuple[int, float, Image]]:
    rate = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    known_rate = math.isfinite(rate) and 0 < rate < 1000
    step = 1.0 / fps
    next_t = 0.0
    index = -1
    while cap.grab():
        index += 1
        t = index / rate if known_rate else float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
        if t + 1e-9 < next_t:
            continue
        ok, frame = cap.retrieve()
        if not ok or frame is None:
            continue
        next_t += step * max(1, math.floor((t - next_t) / step) + 1)
        yield index, round(t, 6), np.ascontiguousarray(frame, dtype=np.uint8)
    if index < 0:
        raise VideoReadError(f"no frames could be decoded from video: {path}")


def best_reads_per_plate(
    reads: Iterable[tuple[float, F, list[PlateRead]]], max_gap_s: float = 2.0
) -> list[tuple[float, F, PlateRead]]:
    """One pass over (timestamp, frame, reads): plates tracked across frames, one voted read per
    track (one vehicle, one read), with the frame in which the winning text was read best.

    Ties keep the earliest sighting. The result is ordered by first sighting.
    """
    tracker: PlateTracker[F] = PlateTracker(max_gap_s=max_gap_s)
    for timestamp, frame, plates in reads:
        tracker.update(timestamp, frame, plates)
    return tracker.finish()
