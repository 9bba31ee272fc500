"""The project's own plate reader: a compact CRNN trained by ``training/`` and shipped as ONNX.

It reads a whole plate crop or a text-line crop of one (see ``plate_input.prepare``) and
returns A–Z0–9 text with per-character confidences and alternatives. It was trained to
return nothing for crops that hold no plate (dealer names, car badges, background).
See ``models/plate_reader.md`` for the data, the figures and how to reproduce it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from platekeeper.recognition.base import Image, Reader, TextRead
from platekeeper.recognition.ctc import decode_folded
from platekeeper.recognition.plate_input import ALPHABET, prepare
from platekeeper.recognition.session import FloatArray, LazySession

MODEL_PATH = Path(__file__).resolve().parent / "models" / "plate_reader.onnx"
BATCH = 16  # crops per model call: enough to amortise the call, small enough for memory


class PlateReader(Reader):
    """CTC plate reader over the bundled ``plate_reader.onnx``."""

    def __init__(self, threads: int | None = None, *, alternatives: int = 3, model_path: Path | None = None) -> None:
        self._model = LazySession(model_path or MODEL_PATH, threads)
        self.n_alternatives = alternatives

    def load(self) -> None:
        self._model.get()

    def probabilities(self, crops: Sequence[Image]) -> FloatArray:
        """(N, T, 1 + len(ALPHABET)) per-frame probabilities, blank first."""
        x = np.stack([prepare(c) for c in crops]).astype(np.float32)
        parts = [self._model.run(np.ascontiguousarray(x[i : i + BATCH])) for i in range(0, len(x), BATCH)]
        out: FloatArray = np.concatenate(parts)
        return out

    def read_many(self, crops: Sequence[Image]) -> list[TextRead | None]:
        usable = [i for i, c in enumerate(crops) if c.ndim in (2, 3) and c.shape[0] >= 4 and c.shape[1] >= 4]
        out: list[TextRead | None] = [None] * len(crops)
        if not usable:
            return out
        probs = self.probabilities([crops[i] for i in usable])
        other = np.zeros((probs.shape[1], 1), np.float32)  # the decoder's 'other symbol' column: never
        for i, p in zip(usable, probs, strict=True):
            out[i] = decode_folded(np.concatenate([p, other], axis=1), ALPHABET, self.n_alternatives)
        return out

    def read(self, crop: Image) -> TextRead | None:
        return self.read_many([crop])[0]
