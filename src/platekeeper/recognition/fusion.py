"""Fusing several readings of one plate (several crops, several readers) into ranked candidates.

Each reading is expanded into plate candidates by the plate syntax (formats, confusable
characters, per-character confidences); a candidate's fused score is the weighted mean of
its score over all readings, a reading that did not produce it counting zero. Readers that
agree therefore reinforce each other, and one reader's slip is outvoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from platekeeper.recognition import syntax
from platekeeper.recognition.base import Candidate, TextRead


@dataclass(frozen=True)
class Vote:
    """One reading of a line (None: the reader saw no text there) and the weight of its vote."""

    read: TextRead | None
    weight: float = 1.0


# The pipeline fuses the same readings more than once (to decide whether a line needs the second
# reader, then to rank its plate), and expanding one reading costs milliseconds of pure Python: cache
# it. Readings are frozen dataclasses, so equal readings share one entry; results are never mutated.
@lru_cache(maxsize=512)
def _expand(read: TextRead, min_chars: int, max_chars: int, top: int) -> tuple[Candidate, ...]:
    text = syntax.normalise(read.text)
    if not min_chars <= len(text) <= max_chars or syntax.is_stopword(text):
        return ()
    if text != read.text:  # characters were dropped: per-character evidence no longer lines up
        read = TextRead(text, read.confidence)
    cands = syntax.plate_candidates(read.text, read.confidence, read.char_confidences, read.char_alternatives, top=top)
    if any(syntax.is_stopword(c.plate) for c in cands[:5]):
        return ()  # a word such as a make or model name, misread: "TOV0TA"
    return tuple(cands)


def fuse(votes: Sequence[Vote], min_chars: int, max_chars: int, top: int) -> list[Candidate]:
    """Candidates of all readings, best first, at most ``top`` (at least one)."""
    total = sum(v.weight for v in votes)
    if total <= 0:
        return []
    scores: dict[str, float] = {}
    for vote in votes:
        if vote.read is None:
            continue
        for c in _expand(vote.read, min_chars, max_chars, max(top, 5)):  # one cache entry for any top
            scores[c.plate] = scores.get(c.plate, 0.0) + vote.weight * c.confidence
    ranked = sorted(((p, s / total) for p, s in scores.items()), key=lambda kv: (-kv[1], kv[0]))
    return [Candidate(p, round(s, 4)) for p, s in ranked[: max(top, 1)]]
