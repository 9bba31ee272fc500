"""Video sampling and best-read-per-plate selection."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from platekeeper.capture.files import InputKind, classify_path
from platekeeper.capture.video import VideoReadError, best_reads_per_plate, sample_video
from platekeeper.recognition.base import Box, Candidate, PlateRead


def write_video(path: Path, frames: int = 30, fps: float = 10.0) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    assert writer.isOpened()
    for i in range(frames):
        frame = np.full((48, 64, 3), i * 8 % 256, dtype=np.uint8)
        writer.write(frame)
    writer.release()
    return path


@pytest.mark.req("CAP-1")
def test_sample_video_at_two_fps(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", frames=30, fps=10.0)
    samples = list(sample_video(video, fps=2.0))
    assert [i for i, _, _ in samples] == [0, 5, 10, 15, 20, 25]
    assert [t for _, t, _ in samples] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    assert all(frame.shape == (48, 64, 3) and frame.dtype == np.uint8 for _, _, frame in samples)
    # frame content matches its index (MJPG is lossy: compare roughly)
    assert abs(int(samples[2][2].mean()) - 80) <= 4


@pytest.mark.req("CAP-1")
def test_sampling_faster_than_the_video_gives_every_frame(tmp_path: Path) -> None:
    video = write_video(tmp_path / "clip.avi", frames=5, fps=10.0)
    assert [i for i, _, _ in sample_video(video, fps=100.0)] == [0, 1, 2, 3, 4]


def test_unreadable_video(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(VideoReadError):
        list(sample_video(bad, fps=1.0))
    with pytest.raises(VideoReadError, match="not found"):
        list(sample_video(tmp_path / "missing.avi", fps=1.0))
    with pytest.raises(ValueError, match="positive"):
        list(sample_video(bad, fps=0))


def _read(plate: str, conf: float) -> PlateRead:
    return PlateRead(plate, conf, (Candidate(plate, conf),), Box(0, 0, 10, 5))


@pytest.mark.req("CAP-1")
def test_best_reads_per_plate_keeps_the_most_confident() -> None:
    stream = [
        (0.0, "f0", [_read("7ABC123", 0.7)]),
        (0.5, "f1", [_read("7ABC123", 0.95), _read("5XYZ999", 0.6)]),
        (1.0, "f2", [_read("7ABC123", 0.95)]),  # a tie keeps the earlier sighting
        (1.5, "f3", []),
        (2.0, "f4", [_read("5XYZ999", 0.8)]),
    ]
    best = best_reads_per_plate(iter(stream))
    assert [(t, f, r.plate, r.confidence) for t, f, r in best] == [
        (0.5, "f1", "7ABC123", 0.95),
        (2.0, "f4", "5XYZ999", 0.8),
    ]
    assert best_reads_per_plate([]) == []


def test_classify_path(tmp_path: Path) -> None:
    assert classify_path(tmp_path) is InputKind.DIRECTORY
    assert classify_path(tmp_path / "a.MP4") is InputKind.VIDEO
    assert classify_path(tmp_path / "a.webm") is InputKind.VIDEO
    assert classify_path(tmp_path / "a.jpeg") is InputKind.IMAGE
    assert classify_path(tmp_path / "a.txt") is InputKind.UNKNOWN
