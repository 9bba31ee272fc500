"""Ingest from files: stills, folders and videos, for ``platekeeper ingest`` and the demo."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from tqdm import tqdm

from platekeeper.capture.clock import capture_time
from platekeeper.capture.files import InputKind, classify_path, is_video
from platekeeper.capture.video import sample_video
from platekeeper.recognition.base import Image
from platekeeper.recognition.images import ImageDecodeError, load_image
from platekeeper.recognition.tracking import PlateTracker
from platekeeper.services import audit
from platekeeper.services.ingest import IngestRefused, PendingRead, recognise_frame, require_live, store_reads
from platekeeper.store.models import Camera
from platekeeper.system import System


@dataclass
class IngestSummary:
    files: int = 0
    created: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


def _expand(paths: Iterable[Path]) -> list[Path]:
    """Files as named; folders give their images and videos, recursively, in order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    f
                    for f in path.rglob("*")
                    if f.is_file()
                    and not f.name.startswith(".")
                    and classify_path(f) in {InputKind.IMAGE, InputKind.VIDEO}
                )
            )
        else:
            files.append(path)
    return files


def _camera(system: System, key: str) -> Camera:
    with system.sessions() as session:
        camera = session.scalar(select(Camera).where(Camera.key == key))
    if camera is None:
        raise ValueError(f"no camera {key!r}; add it with `platekeeper cameras add`")
    try:
        require_live(camera)
    except IngestRefused as exc:
        raise ValueError(str(exc)) from exc
    return camera


def _still(system: System, camera: Camera, path: Path, when: dt.datetime | None) -> list[PendingRead]:
    frame = load_image(path)
    captured = when or capture_time(path, system.profile.zone)
    clean, plates = recognise_frame(system, camera, frame)
    return [PendingRead(plate, captured, clean) for plate in plates]


def _video(system: System, camera: Camera, path: Path, fps: float, when: dt.datetime | None) -> list[PendingRead]:
    """One pass over a video: the best read of each plate, with its own frame (CAP-1)."""
    start = when or capture_time(path, system.profile.zone)
    # Frames stream through the tracker, which keeps only each track's best frames (bounded memory).
    tracker: PlateTracker[Image] = PlateTracker()
    for _, seconds, frame in sample_video(path, fps):
        clean, plates = recognise_frame(system, camera, frame)
        tracker.update(seconds, clean, plates)
    return [
        PendingRead(plate, start + dt.timedelta(seconds=seconds), frame) for seconds, frame, plate in tracker.finish()
    ]


def ingest_paths(
    system: System,
    actor: audit.Actor,
    camera_key: str,
    paths: Iterable[Path],
    *,
    fps: float = 2.0,
    captured_at: dt.datetime | None = None,
    progress: bool = False,
) -> IngestSummary:
    """Each file is stored whole or not at all; a bad file is reported and the rest go on."""
    camera = _camera(system, camera_key)
    summary = IngestSummary()
    files = _expand(paths)
    for path in tqdm(files, unit="file", disable=not progress):
        summary.files += 1
        try:
            pending = (
                _video(system, camera, path, fps, captured_at)
                if is_video(path)
                else _still(system, camera, path, captured_at)
            )
            result = store_reads(system, actor, camera_key, pending, source="cli")
        except (ImageDecodeError, IngestRefused, ValueError, OSError) as exc:
            summary.errors.append(f"{path}: {exc}")
            continue
        summary.created += len(result.created)
        summary.duplicates += len(result.duplicates)
    return summary
