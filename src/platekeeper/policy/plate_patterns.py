"""Plate matching for search (USE-4): exact, partial with wildcards, and fuzzy. Pure functions, no I/O.

Plates are upper-case A–Z and 0–9. Witnesses and readers confuse some characters
(O/0/D, I/1, B/8, S/5, Z/2, G/6), so every plate also has a *key*: the plate
with each confusable folded onto one representative. The key is what the
database indexes; the exact comparison against the plate text happens after,
here, so that what the index finds is only ever a superset of what is shown.

- exact: the plate text equals the query.
- wildcard: ``?`` is one character, ``*`` any run (also none), the rest literal; the
  whole plate must match (``7AB?12*`` matches ``7ABC123`` and ``7ABX12``).
- fuzzy: the keys are at most one edit apart (substitution, insertion, deletion):
  confusables cost nothing, a real edit costs one. Ranked by closeness.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
# Each confusable letter folds onto the digit it is mistaken for (D reads as 0 as often as O does).
CONFUSABLES = {"O": "0", "D": "0", "I": "1", "B": "8", "S": "5", "Z": "2", "G": "6"}
_FOLD = str.maketrans(CONFUSABLES)
KEY_ALPHABET = "".join(sorted({c.translate(_FOLD) for c in ALPHABET}))
MAX_PLATE = 10
PATTERN_RE = re.compile(r"^[A-Z0-9?*]{1,12}$")


class PatternError(ValueError):
    """The query is not a plate, a wildcard pattern or a fuzzy query we can run."""


def plate_key(plate: str) -> str:
    """The confusable-folded key the index holds: ``plate_key('SO8B') == '5088'``."""
    return plate.upper().translate(_FOLD)


def plate_rkey(plate: str) -> str:
    """The key read backwards: its index serves patterns that only fix the end (``*1234``)."""
    return plate_key(plate)[::-1]


def clean_query(text: str) -> str:
    """Upper-case, spaces and dashes dropped (witnesses write ``7ABC 123``); refuses anything else."""
    cleaned = re.sub(r"[\s-]", "", text.upper())
    if not PATTERN_RE.fullmatch(cleaned):
        raise PatternError("a plate query holds letters, digits, ? (one character) and * (any run), at most 12")
    if not cleaned.replace("*", ""):
        raise PatternError("a pattern of only * matches every plate: give at least one character")
    return re.sub(r"\*+", "*", cleaned)


def is_wildcard(query: str) -> bool:
    return "?" in query or "*" in query


# ---- wildcards --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Wildcard:
    pattern: str

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.pattern)

    def matches(self, plate: str) -> bool:
        return self.regex.fullmatch(plate) is not None

    def sql_like(self) -> str:
        """The pattern for SQL ``LIKE`` (plates hold no ``%`` or ``_`` of their own)."""
        return self.pattern.replace("?", "_").replace("*", "%")

    def literal_prefix(self) -> str:
        """The literal characters before the first wildcard: a range scan on the index."""
        return re.split(r"[?*]", self.pattern, maxsplit=1)[0]

    def key_prefixes(self) -> list[str]:
        """Key prefixes that every match starts with: the literal prefix, or, behind one leading ``?``,
        the literal run after it under each possible first character. Empty when no prefix bounds it."""
        prefix = self.literal_prefix()
        if prefix:
            return [plate_key(prefix)]
        if self.pattern.startswith("?") and len(self.pattern) > 1 and self.pattern[1] not in "?*":
            rest = Wildcard(self.pattern[1:]).literal_prefix()
            return [first + plate_key(rest) for first in KEY_ALPHABET]
        return []

    def suffix_key_prefixes(self) -> list[str]:
        """The same for the end of the plate, as prefixes of the reversed key (``plate_rkey``)."""
        return Wildcard(self.pattern[::-1]).key_prefixes()

    def index_ranges(self) -> tuple[str, list[str]]:
        """Which key index bounds the pattern best: ``("key", prefixes)``, ``("rkey", prefixes)`` or
        ``("", [])`` when neither end is fixed. The longer fixed run wins; at equal length, one range beats 36."""

        def strength(prefixes: list[str]) -> tuple[int, int]:
            if not prefixes:
                return (0, 0)
            return (len(prefixes[0]) - (len(prefixes) > 1), -len(prefixes))

        prefixes, suffixes = self.key_prefixes(), self.suffix_key_prefixes()
        if strength(suffixes) > strength(prefixes):
            return "rkey", suffixes
        return ("key", prefixes) if prefixes else ("", [])

    def length_bounds(self) -> tuple[int, int | None]:
        fixed = len(self.pattern.replace("*", ""))
        return fixed, (None if "*" in self.pattern else fixed)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    body = "".join("[A-Z0-9]" if c == "?" else "[A-Z0-9]*" if c == "*" else re.escape(c) for c in pattern)
    return re.compile(body)


def key_range(prefix: str) -> tuple[str, str]:
    """[low, high) of the keys starting with ``prefix`` (keys hold only A–Z and 0–9, all below ``~``)."""
    return prefix, prefix + "~"


# ---- fuzzy --------------------------------------------------------------------------------------------------------
def levenshtein(a: str, b: str) -> int:
    """Edit distance; plates are short, so the plain dynamic programme is fast enough."""
    if a == b:
        return 0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def one_edit_keys(key: str) -> set[str]:
    """Every key within one edit of ``key`` (over the folded alphabet): what the index is asked for.

    For a 7-character plate this is about 440 keys; each is one index probe.
    """
    variants = {key}
    for i in range(len(key) + 1):
        for c in KEY_ALPHABET:
            variants.add(key[:i] + c + key[i:])  # insertion
    for i in range(len(key)):
        variants.add(key[:i] + key[i + 1 :])  # deletion
        for c in KEY_ALPHABET:
            variants.add(key[:i] + c + key[i + 1 :])  # substitution
    return {v for v in variants if 0 < len(v) <= MAX_PLATE}


@dataclass(frozen=True, order=True)
class Closeness:
    """Smaller is closer: real edits first, then confusable swaps. (0, 0) is the exact plate."""

    edits: int
    confusions: int

    @property
    def label(self) -> str:
        if self.edits == 0 and self.confusions == 0:
            return "exact"
        if self.edits == 0:
            return "confusable"
        return "one edit"


def closeness(query: str, plate: str) -> Closeness | None:
    """How close ``plate`` is to ``query``, or None when it is more than one edit away after folding."""
    edits = levenshtein(plate_key(query), plate_key(plate))
    if edits > 1:
        return None
    raw = levenshtein(query, plate)
    return Closeness(edits=edits, confusions=max(raw - edits, 0))


# ---- the query ------------------------------------------------------------------------------------------------------
MODES = ("auto", "exact", "wildcard", "fuzzy")


@dataclass(frozen=True)
class PlateQuery:
    text: str
    mode: str  # exact | wildcard | fuzzy (never auto once parsed)

    @classmethod
    def parse(cls, text: str, mode: str = "auto") -> PlateQuery:
        if mode not in MODES:
            raise PatternError(f"unknown plate search mode {mode!r}: one of {', '.join(MODES)}")
        cleaned = clean_query(text)
        wildcard = is_wildcard(cleaned)
        if mode == "auto":
            mode = "wildcard" if wildcard else "exact"
        if mode != "wildcard" and wildcard:
            raise PatternError(f"? and * are wildcards: use the wildcard mode, not {mode}")
        if mode != "wildcard" and len(cleaned) > MAX_PLATE:
            raise PatternError(f"a plate has at most {MAX_PLATE} characters")
        return cls(cleaned, mode)

    def rank(self, plate: str) -> Closeness | None:
        """None when ``plate`` does not match; otherwise how close it is (exact and wildcard: (0, 0))."""
        if self.mode == "exact":
            return Closeness(0, 0) if plate == self.text else None
        if self.mode == "wildcard":
            return Closeness(0, 0) if Wildcard(self.text).matches(plate) else None
        return closeness(self.text, plate)
