"""Matching reads against hot-list entries: pure, in memory, no I/O (HOT-1, USE-4).

Three kinds of match, recorded on every alert:

* ``exact`` — the read's text equals the entry's plate;
* ``confusable`` — equal once characters a reader mixes up are folded to one (0/O/D/Q, 1/I/L/T, 8/B, 5/S,
  2/Z, 6/G). A narrower set than the recogniser's candidate table on purpose: every fold widens what
  alerts, and an alert sends an officer after a car. The officer's visual confirmation (HOT-5) is the check;
  misreads it finds are counted (CAP-5);
* ``wildcard`` — a partial plate (major crimes only, USE-4): ``?`` is one unknown character, ``*`` any run.
  Wildcards compare in the folded alphabet too.

The index answers in microseconds for a million entries: exact and confusable lookups are one dict probe
each; wildcard patterns are bucketed by an anchor so that a read checks a few dozen, not ten thousand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

CONFUSABLE_CLASSES: tuple[str, ...] = ("0ODQ", "1ILT", "8B", "5S", "2Z", "6G")
_FOLD = str.maketrans({c: cls[0] for cls in CONFUSABLE_CLASSES for c in cls[1:]})
PLATE_CHARS = re.compile(r"^[A-Z0-9]{2,9}$")
PATTERN_CHARS = re.compile(r"^[A-Z0-9?*]{2,12}$")
MIN_KNOWN_IN_WILDCARD = 3  # "*" or "??1" would alert on most of the city
MATCH_TYPES = ("exact", "confusable", "wildcard")


class BadPlate(ValueError):
    """A plate or pattern that cannot go on a hot list."""


def fold(text: str) -> str:
    """The confusable-normalised form: each character replaced by its class's representative."""
    return text.translate(_FOLD)


_SEPARATORS = str.maketrans("", "", " \t\r\n-.·")


def clean_plate(raw: str) -> str:
    """Upper case, separators (space, dash, dot) dropped; wildcards kept."""
    return raw.upper().translate(_SEPARATORS)


def is_wildcard(plate: str) -> bool:
    return "?" in plate or "*" in plate


def check_entry_plate(plate: str, *, major_crime: bool) -> str:
    """The cleaned plate, or ``BadPlate`` saying why it cannot be entered."""
    cleaned = clean_plate(plate)
    if not is_wildcard(cleaned):
        if not PLATE_CHARS.match(cleaned):
            raise BadPlate(f"plate {plate!r} must be 2 to 9 letters or digits")
        return cleaned
    if not major_crime:
        raise BadPlate("partial plates (? and *) may be entered only for major crimes (USE-4)")
    if not PATTERN_CHARS.match(cleaned):
        raise BadPlate(f"partial plate {plate!r} may hold only letters, digits, ? and *")
    known = sum(ch.isalnum() for ch in cleaned)
    if known < MIN_KNOWN_IN_WILDCARD:
        raise BadPlate(f"a partial plate needs at least {MIN_KNOWN_IN_WILDCARD} known characters")
    return cleaned


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    body = "".join("." if ch == "?" else ".*" if ch == "*" else re.escape(ch) for ch in fold(pattern))
    return re.compile(body + r"\Z")


@dataclass(frozen=True)
class Hit:
    entry_id: int
    match_type: str  # exact | confusable | wildcard
    matched_text: str  # the read's text or the candidate's that matched
    on_candidate: bool


@dataclass
class _Wildcard:
    entry_id: int
    regex: re.Pattern[str]


def _anchor(pattern: str) -> tuple[str, object]:
    """Where a pattern is filed, so a read looks in a few small buckets instead of every pattern.

    Fixed-length patterns (``?`` only) by (length, position, two known characters in a row) — a single
    leading character would put most California patterns in nine buckets — or one known character when no
    two are adjacent; patterns with ``*`` by the first two characters of their longest literal run.
    """
    folded = fold(pattern)
    if "*" not in folded:
        for i in range(len(folded) - 1):
            if folded[i] != "?" and folded[i + 1] != "?":
                return "fixed2", (len(folded), i, folded[i : i + 2])
        for i, ch in enumerate(folded):
            if ch != "?":
                return "fixed", (len(folded), i, ch)
    longest = max(re.split(r"[?*]", folded), key=len)
    if len(longest) >= 2:
        return "gram", longest[:2]
    return "scan", None


@dataclass
class WildcardIndex:
    fixed: dict[tuple[int, int, str], list[_Wildcard]] = field(default_factory=dict)
    fixed2: dict[tuple[int, int, str], list[_Wildcard]] = field(default_factory=dict)
    grams: dict[str, list[_Wildcard]] = field(default_factory=dict)
    scan: list[_Wildcard] = field(default_factory=list)
    where: dict[int, tuple[str, object]] = field(default_factory=dict)

    def add(self, entry_id: int, pattern: str) -> None:
        item = _Wildcard(entry_id, _pattern_regex(pattern))
        kind, key = _anchor(pattern)
        self.where[entry_id] = (kind, key)
        if kind in {"fixed", "fixed2"}:
            self._fixed(kind).setdefault(key, []).append(item)  # type: ignore[arg-type]
        elif kind == "gram":
            self.grams.setdefault(str(key), []).append(item)
        else:
            self.scan.append(item)

    def remove(self, entry_id: int) -> None:
        kind, key = self.where.pop(entry_id, ("", None))
        bucket: list[_Wildcard] | None
        if kind in {"fixed", "fixed2"}:
            bucket = self._fixed(kind).get(key)  # type: ignore[call-overload]
        elif kind == "gram":
            bucket = self.grams.get(str(key))
        else:
            bucket = self.scan if kind == "scan" else None
        if bucket is not None:
            bucket[:] = [w for w in bucket if w.entry_id != entry_id]

    def _fixed(self, kind: str) -> dict[tuple[int, int, str], list[_Wildcard]]:
        return self.fixed2 if kind == "fixed2" else self.fixed

    def __len__(self) -> int:
        return len(self.where)

    def _candidates(self, folded: str) -> Iterator[_Wildcard]:
        n = len(folded)
        grams = [folded[i : i + 2] for i in range(n - 1)]
        for i, ch in enumerate(folded):
            yield from self.fixed.get((n, i, ch), ())
        for i, gram in enumerate(grams):
            yield from self.fixed2.get((n, i, gram), ())
        for gram in set(grams):
            yield from self.grams.get(gram, ())
        yield from self.scan

    def match(self, folded: str) -> set[int]:
        return {w.entry_id for w in self._candidates(folded) if w.regex.match(folded)}


@dataclass
class HotListIndex:
    """Active entries of every list. ``version`` is the hot-list version it reflects."""

    version: int = 0
    # folded plate -> entry id, or a tuple of ids when several entries share it (rare)
    by_fold: dict[str, int | tuple[int, ...]] = field(default_factory=dict)
    # entry id -> its plate, only where the plate differs from its folded form
    plates: dict[int, str] = field(default_factory=dict)
    folded_of: dict[int, str] = field(default_factory=dict)
    wildcards: WildcardIndex = field(default_factory=WildcardIndex)

    def __len__(self) -> int:
        return len(self.folded_of) + len(self.wildcards)

    def put(self, entry_id: int, plate: str) -> None:
        """Add or replace an entry."""
        self.discard(entry_id)
        if is_wildcard(plate):
            self.wildcards.add(entry_id, plate)
            return
        folded = fold(plate)
        if folded != plate:
            self.plates[entry_id] = plate
        self.folded_of[entry_id] = folded
        have = self.by_fold.get(folded)
        if have is None:
            self.by_fold[folded] = entry_id
        else:
            self.by_fold[folded] = (*(have if isinstance(have, tuple) else (have,)), entry_id)

    def discard(self, entry_id: int) -> None:
        folded = self.folded_of.pop(entry_id, None)
        if folded is None:
            self.wildcards.remove(entry_id)
            return
        self.plates.pop(entry_id, None)
        have = self.by_fold.get(folded)
        if have is None:
            return
        ids = tuple(i for i in (have if isinstance(have, tuple) else (have,)) if i != entry_id)
        if not ids:
            del self.by_fold[folded]
        else:
            self.by_fold[folded] = ids if len(ids) > 1 else ids[0]

    def match_text(self, text: str, *, on_candidate: bool = False, wildcards: bool = True) -> list[Hit]:
        folded = fold(text)
        hits: list[Hit] = []
        found = self.by_fold.get(folded)
        if found is not None:
            for entry_id in found if isinstance(found, tuple) else (found,):
                kind = "exact" if self.plates.get(entry_id, folded) == text else "confusable"
                hits.append(Hit(entry_id, kind, text, on_candidate))
        if wildcards and len(self.wildcards):
            hits.extend(Hit(e, "wildcard", text, on_candidate) for e in self.wildcards.match(folded))
        return hits

    def match_read(self, plate: str, candidates: Iterable[str] = ()) -> list[Hit]:
        """The read's own text first, then its alternatives; one hit per entry, the best kind kept."""
        best: dict[int, Hit] = {}
        texts = [(plate, False)] + [(c, True) for c in candidates if c != plate]
        for text, on_candidate in texts:
            for hit in self.match_text(text, on_candidate=on_candidate):
                current = best.get(hit.entry_id)
                if current is None or _rank(hit) < _rank(current):
                    best[hit.entry_id] = hit
        return list(best.values())


def _rank(hit: Hit) -> tuple[int, int]:
    return (int(hit.on_candidate), MATCH_TYPES.index(hit.match_type))
