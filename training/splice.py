"""Spliced real crops: the left part of one real plate joined to the right part of another.

The real training crops are few (about 1,700) and mostly New York plates, so the reader sees each real
glyph, with its wear, light and blur, beside few neighbours. Two real crops cut between characters and
joined make a new real-looking plate in which every character has new neighbours: the sequence form of
CutMix (as StackMix does for handwriting, Shonenkov et al. 2021). Where to cut comes from a trained
reader's own best CTC path: on a crop it reads exactly, each character peaks in a run of columns, and the
cut between two characters is halfway between their runs. Crops it misreads (hard or mislabelled) are not
cut.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise

import cv2
import numpy as np
from numpy.typing import NDArray

from platekeeper.recognition.plate_input import ALPHABET
from training.data import Real

# The cut of the second crop is at the same character index as the first's this often (the plate keeps
# its layout, NY "ABC1234" stays "ABC1234"); otherwise anywhere, so layouts mix too.
SAME_INDEX_SHARE = 0.7
MIN_CHARS, MAX_CHARS = 4, 8  # a spliced plate's length, when the cuts are at different indices
# A ucsd still's box hugs its characters inside a larger photo region; it is cut in a view of the box with
# this much of the plate around it (in box heights), near the middle of the margins ``augment_real`` draws
# for such boxes, so the reader reads it as it learnt to.
VIEW_MARGIN_X, VIEW_MARGIN_Y = 0.5, 0.3


def character_cuts(probs: NDArray[np.float32], label: str) -> tuple[float, ...] | None:
    """(T, classes) scores of one crop → where to cut between characters, as fractions of its width
    (``len(label) - 1`` values, left to right); None when the best path does not read ``label``."""
    runs: list[list[int]] = []  # per emitted character: [class, first column, last column]
    prev = 0
    for t, k in enumerate(probs.argmax(-1).tolist()):
        if k and k != prev:
            runs.append([k, t, t])
        elif k:
            runs[-1][2] = t
        prev = k
    if "".join(ALPHABET[k - 1] for k, _, _ in runs) != label or len(runs) < 2:
        return None
    steps = probs.shape[0]
    # column t covers the input's [t, t + 1) / steps of the width
    return tuple((a[2] + 1 + b[1]) / 2 / steps for a, b in pairwise(runs))


def settle_cuts(real: Real, cuts: tuple[float, ...], reach: float = 0.35) -> tuple[float, ...]:
    """Each cut moved to the column of least ink near it (within ``reach`` of a character's pitch), inside
    the characters' rows. The reader's peaks sit early on its glyphs (most on the small ucsd boxes), so a cut
    halfway between two peaks can fall inside a character; the gap beside it is the column that differs least
    from the plate's median grey, whichever way round the colours are."""
    x0, y0, x1, y1 = real.box
    if not real.tight_text:  # a whole plate: its characters' rows, not the state's name above them
        y0, y1 = y0 + round(0.3 * (y1 - y0)), y0 + round(0.75 * (y1 - y0))
    grey = cv2.cvtColor(real.image, cv2.COLOR_BGR2GRAY) if real.image.ndim == 3 else real.image
    strip = grey[y0:y1].astype(np.float32)
    ink = np.abs(strip - np.median(strip[:, x0:x1])).mean(axis=0)
    ink = np.convolve(ink, np.ones(3, np.float32) / 3, mode="same")
    width = real.image.shape[1]
    pitch = (x1 - x0) / (len(cuts) + 1)
    settled, floor = [], x0
    for c in cuts:
        x = c * width
        lo, hi = max(floor, round(x - reach * pitch)), min(x1, round(x + reach * pitch) + 1)
        best = lo + int(np.argmin(ink[lo:hi])) if hi > lo else round(x)
        settled.append(best / width)
        floor = best + 1
    return tuple(settled)


def cut_view(real: Real) -> Real:
    """What is cut of a real crop: a whole-plate crop itself; of a tight-text box (ucsd), the box and a band
    of plate around it, still marked tight so that ``augment_real`` draws its margins as for the box."""
    if not real.tight_text:
        return real
    x0, y0, x1, y1 = real.box
    h = y1 - y0
    mx, my = round(VIEW_MARGIN_X * h), round(VIEW_MARGIN_Y * h)
    a0, b0 = max(0, x0 - mx), max(0, y0 - my)
    a1, b1 = min(real.image.shape[1], x1 + mx), min(real.image.shape[0], y1 + my)
    image = real.image[b0:b1, a0:a1].copy()
    return Real(image, (x0 - a0, y0 - b0, x1 - a0, y1 - b0), real.label, True, real.source)


class Splicer:
    """Draws spliced crops from the real crops that have cuts, partners from the same source."""

    def __init__(self, reals: Sequence[Real], cuts: Sequence[tuple[float, ...] | None]) -> None:
        self.reals = reals
        self.cuts = cuts
        by_source: dict[str, list[int]] = defaultdict(list)
        for i, (real, c) in enumerate(zip(reals, cuts, strict=True)):
            if c is not None:  # only whole-plate crops have cuts (``train.splice_cuts``)
                by_source[real.source].append(i)
        self.by_source = {s: idx for s, idx in by_source.items() if len(idx) >= 2}
        self.sources = sorted(self.by_source)
        self.source_sizes = np.array([len(self.by_source[s]) for s in self.sources], dtype=np.float64)

    def __len__(self) -> int:
        return int(self.source_sizes.sum())

    def draw(self, rng: np.random.Generator) -> Real:
        source = self.sources[int(rng.choice(len(self.sources), p=self.source_sizes / self.source_sizes.sum()))]
        i, j = rng.choice(self.by_source[source], 2, replace=False)
        return splice(rng, self.reals[i], self.cuts[i] or (), self.reals[j], self.cuts[j] or ())

    def can_cut(self, i: int) -> bool:
        return self.cuts[i] is not None and self.reals[i].source in self.by_source

    def draw_with(self, rng: np.random.Generator, i: int) -> Real:
        """Real crop ``i`` (one that ``can_cut``) spliced with a partner of its own source."""
        partners = self.by_source[self.reals[i].source]
        j = i
        while j == i:
            j = int(partners[int(rng.integers(len(partners)))])
        return splice(rng, self.reals[i], self.cuts[i] or (), self.reals[j], self.cuts[j] or ())


def splice(rng: np.random.Generator, a: Real, cuts_a: tuple[float, ...], b: Real, cuts_b: tuple[float, ...]) -> Real:
    """``a`` up to a cut between characters, then ``b`` from a cut on, ``b`` scaled to ``a``'s height and
    its light matched to ``a``'s so the seam does not give the join away. The labelled box runs from the
    left of ``a``'s box to the right of ``b``'s (the whole image for whole-plate crops)."""
    i = int(rng.integers(1, len(a.label)))  # a keeps its first i characters
    j = min(i, len(b.label) - 1)  # b gives its characters from index j
    if rng.random() >= SAME_INDEX_SHARE:
        j = int(rng.integers(1, len(b.label)))
        if not MIN_CHARS <= i + len(b.label) - j <= MAX_CHARS:  # keep plate lengths
            j = min(i, len(b.label) - 1)
    h = a.image.shape[0]
    b_w = max(1, round(b.image.shape[1] * h / b.image.shape[0]))
    right = cv2.resize(b.image, (b_w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
    left = a.image.astype(np.float32)
    x_a, x_b = round(cuts_a[i - 1] * a.image.shape[1]), round(cuts_b[j - 1] * b_w)
    left, right = left[:, :x_a], right[:, x_b:]
    axes = (0, 1)
    scale = (left.std(axis=axes) + 1.0) / (right.std(axis=axes) + 1.0)
    right = (right - right.mean(axis=axes)) * scale + left.mean(axis=axes)
    image = np.clip(np.concatenate([left, right], axis=1), 0, 255).astype(np.uint8)
    box_x1 = x_a + round(b.box[2] * b_w / b.image.shape[1]) - x_b
    box = (a.box[0], a.box[1], min(image.shape[1], max(a.box[0] + 1, box_x1)), a.box[3])
    return Real(image, box, a.label[:i] + b.label[j:], a.tight_text, a.source)
