"""When a still image was captured: its EXIF time in the camera's zone, else the file's time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, UnidentifiedImageError

EXIF_DATETIME_ORIGINAL = 0x9003
EXIF_IFD = 0x8769


def capture_time(path: Path, camera_zone: ZoneInfo) -> dt.datetime:
    try:
        with Image.open(path) as image:
            stamp = image.getexif().get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL)
    except (UnidentifiedImageError, OSError):
        stamp = None
    if isinstance(stamp, str):
        try:
            return (
                dt.datetime.strptime(stamp.strip(), "%Y:%m:%d %H:%M:%S").replace(tzinfo=camera_zone).astimezone(dt.UTC)
            )
        except ValueError:
            pass
    return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
