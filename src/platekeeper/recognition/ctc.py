"""Greedy CTC decoding with per-character confidences and alternatives."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from platekeeper.recognition.base import TextRead

FloatArray = NDArray[np.float32]


def decode_folded(folded: FloatArray, alphabet: str, n_alt: int) -> TextRead | None:
    """Greedy CTC decoding over {blank, alphabet, other}; 'other' separates, is not emitted."""
    other = len(alphabet) + 1
    idx = folded.argmax(axis=1)
    chars: list[str] = []
    confs: list[float] = []
    alts: list[tuple[tuple[str, float], ...]] = []
    t, n = 0, len(idx)
    while t < n:
        k = int(idx[t])
        end = t
        while end + 1 < n and int(idx[end + 1]) == k:
            end += 1
        if 0 < k < other:
            span = folded[t : end + 1, 1:other].max(axis=0)  # best evidence per symbol in the span
            order = np.argsort(-span, kind="stable")[: n_alt + 1]
            chars.append(alphabet[k - 1])
            confs.append(float(span[k - 1]))
            alts.append(tuple((alphabet[j], float(span[j])) for j in order if j != k - 1)[:n_alt])
        t = end + 1
    if not chars:
        return None
    return TextRead("".join(chars), float(np.mean(confs)), tuple(confs), tuple(alts))
