"""The `platekeeper read` contract: one JSON-ready object per image."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from platekeeper.recognition.base import PlateRead, PlateRecognizer
from platekeeper.recognition.images import IMAGE_EXTENSIONS, ImageDecodeError, load_image
from platekeeper.recognition.syntax import normalise

DEFAULT_TOP = 5


def plate_contract(plate: PlateRead, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """One entry of ``plates``: plate text A–Z0–9, confidences to 4 decimals."""
    candidates = [
        {"plate": normalise(c.plate), "confidence": round(float(c.confidence), 4)}
        for c in plate.candidates[: max(top, 0)]
    ]
    return {
        "plate": normalise(plate.plate),
        "confidence": round(float(plate.confidence), 4),
        "candidates": candidates,
        "box": [int(v) for v in plate.box.as_list()],
        "region": plate.region,
    }


def read_contract(recognizer: PlateRecognizer, path: str | Path, top: int = DEFAULT_TOP) -> dict[str, Any]:
    """Recognise one image file and return exactly the contract object.

    An unreadable file yields ``plates: []`` and an ``error`` message instead of
    raising, so a batch goes on. ``ms`` covers decoding and recognition.
    """
    t0 = time.perf_counter()
    try:
        image = load_image(path)
    except ImageDecodeError as exc:
        return {"image": str(path), "ms": _ms(t0), "plates": [], "error": str(exc)}
    plates = recognizer.recognize(image, top=top)
    return {"image": str(path), "ms": _ms(t0), "plates": [plate_contract(p, top) for p in plates]}


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def iter_image_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named directly (whatever their type: a bad one yields an error entry), and
    image files under named directories, recursively, in sorted order. Hidden files skipped."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from _walk(path)
        else:
            yield path


def _walk(root: Path) -> Iterator[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            p = Path(dirpath) / name
            if not name.startswith(".") and is_image_file(p):
                found.append(p)
    yield from sorted(found)


def count_image_files(paths: Iterable[str | Path]) -> int:
    """How many files iter_image_files would yield (for a progress bar's total)."""
    return sum(1 for _ in iter_image_files(paths))


def iter_contracts(
    recognizer: PlateRecognizer,
    paths: Iterable[str | Path],
    top: int = DEFAULT_TOP,
    progress: bool | None = None,
) -> Iterator[dict[str, Any]]:
    """Contract objects for every image in ``paths`` (see iter_image_files), in order.

    ``progress`` shows a tqdm bar on stderr; None means "when a directory was given".
    """
    names = [Path(p) for p in paths]
    files = list(iter_image_files(names))
    show = any(p.is_dir() for p in names) if progress is None else progress
    if show:
        import sys

        from tqdm import tqdm

        for path in tqdm(files, desc="reading", unit="img", file=sys.stderr):
            yield read_contract(recognizer, path, top)
    else:
        for path in files:
            yield read_contract(recognizer, path, top)
