"""What kind of input a path is: a still image, a video or a directory."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from platekeeper.recognition.images import IMAGE_EXTENSIONS

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm"})


class InputKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    DIRECTORY = "directory"
    UNKNOWN = "unknown"


def classify_path(path: str | Path) -> InputKind:
    """Classify by file system type and extension (case-insensitive); content is not read."""
    p = Path(path)
    if p.is_dir():
        return InputKind.DIRECTORY
    suffix = p.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return InputKind.VIDEO
    if suffix in IMAGE_EXTENSIONS:
        return InputKind.IMAGE
    return InputKind.UNKNOWN


def is_video(path: str | Path) -> bool:
    return classify_path(path) is InputKind.VIDEO


def is_image(path: str | Path) -> bool:
    return classify_path(path) is InputKind.IMAGE
