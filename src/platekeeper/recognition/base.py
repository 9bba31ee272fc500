"""The narrow seam between the pipeline and the models.

Pipeline, ingest and web code depend only on these classes; only the concrete
model adapters import onnxruntime. Everything that crosses the seam is a frozen
dataclass, so a read cannot be changed after recognition.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]  # BGR, as OpenCV decodes it


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in pixels of the full image."""

    x: int
    y: int
    w: int
    h: int

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.w, self.h]


@dataclass(frozen=True)
class TextRegion:
    """A region a detector believes holds text (a plate, or one line of one)."""

    box: Box
    quad: tuple[tuple[float, float], ...]  # four corners, clockwise from top-left
    score: float


@dataclass(frozen=True)
class TextRead:
    """One reading of a region by a reader: raw text and its confidence."""

    text: str
    confidence: float
    char_confidences: tuple[float, ...] = ()
    # per emitted character: the reader's next-best symbols with their scores, best first
    char_alternatives: tuple[tuple[tuple[str, float], ...], ...] = ()


@dataclass(frozen=True)
class Candidate:
    plate: str
    confidence: float


@dataclass(frozen=True)
class VehicleAttributes:
    colour: str | None = None
    make: str | None = None
    body_type: str | None = None


@dataclass(frozen=True)
class PlateRead:
    """A plate found in an image: best reading first in ``candidates``."""

    plate: str
    confidence: float
    candidates: tuple[Candidate, ...]
    box: Box
    region: str | None = None
    attributes: VehicleAttributes = field(default_factory=VehicleAttributes)
    crop: Image | None = field(default=None, compare=False, repr=False)


class Detector(ABC):
    """Finds text/plate regions in a full image."""

    @abstractmethod
    def detect(self, image: Image) -> list[TextRegion]: ...


class Reader(ABC):
    """Reads the characters in one cropped, roughly horizontal region."""

    @abstractmethod
    def read(self, crop: Image) -> TextRead | None: ...

    def read_many(self, crops: Sequence[Image]) -> list[TextRead | None]:
        """Several crops at once; readers that can batch their model calls override this."""
        return [self.read(c) for c in crops]


class PlateRecognizer(ABC):
    """Whole-image recognition: what `platekeeper read` and ingest call."""

    @abstractmethod
    def recognize(self, image: Image, top: int = 5) -> list[PlateRead]: ...
