"""Plate syntax: normalisation, a table of plate formats, confusable characters, candidates.

The format table is our own, written from public facts about US plate series (and
a few foreign ones so that they are not punished). A format is a mask where ``L``
is a letter, ``D`` a digit and ``A`` either. Formats only *prefer* readings; any
normalised text of plausible length stays a valid reading.

Pure functions; no I/O, no models.
"""

from __future__ import annotations

import heapq
import math
import re
import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from platekeeper.recognition.base import Candidate

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MIN_LEN = 2
MAX_LEN = 9


@dataclass(frozen=True)
class PlateFormat:
    mask: str
    regions: tuple[str, ...]
    prior: float  # how much a reading fitting this format is preferred, 0..1
    note: str = ""

    def fits(self, text: str) -> bool:
        return len(text) == len(self.mask) and all(_fits(c, m) for c, m in zip(text, self.mask, strict=True))


def _fits(c: str, m: str) -> bool:
    if m == "L":
        return c.isalpha()
    if m == "D":
        return c.isdigit()
    return True


CA = ("us-ca",)
# Passenger series shared by many states (ABC1234 etc.).
MULTI_7 = ("us-ny", "us-pa", "us-tx", "us-wa", "us-az", "us-ga", "us-nc", "us-oh", "us-va", "us-mi", "us-mn")

FORMATS: tuple[PlateFormat, ...] = (
    # California (the home market: highest priors)
    PlateFormat("DLLLDDD", CA, 1.00, "CA passenger 1980-2026: 1ABC234"),
    # The DMV's next passenger series once 9ZZZ999 was issued (2026): the 1980 one reversed.
    PlateFormat("DDDLLLD", CA, 1.00, "CA passenger since 2026: 123ABC4"),
    PlateFormat("DLDDDDD", CA, 0.97, "CA commercial: 1A23456"),
    PlateFormat("DDDDDLD", CA, 0.95, "CA commercial: 12345A1"),
    PlateFormat("DLLDDDD", CA, 0.93, "CA trailer / dealer-like: 1AB2345"),
    PlateFormat("DDLDDDD", CA, 0.90, "CA motorcycle: 12A3456"),
    PlateFormat("LLLDDD", ("us-ca", "us-fl", "us-nm", "us-ky"), 0.93, "pre-1980 CA and others: ABC123"),
    PlateFormat("DDDLLL", ("us-ca", "us-or", "us-fl", "us-co"), 0.93, "pre-1980 CA, OR: 123ABC"),
    # Other US states
    PlateFormat("LLLDDDD", MULTI_7, 0.95, "NY/PA/TX/WA/AZ/GA/NC/OH/VA/MI: ABC1234"),
    PlateFormat("LLDDDDD", ("us-il", "us-ct"), 0.92, "IL/CT: AB12345"),
    PlateFormat("LDDLLL", ("us-nj",), 0.92, "NJ: A12BCD"),
    PlateFormat("LLLLDD", ("us-fl", "us-co"), 0.90, "FL/CO: ABCD12"),
    PlateFormat("LLLDLL", ("us-fl",), 0.88, "FL: ABC1DE"),
    PlateFormat("DLLLDD", ("us-ma",), 0.88, "MA: 1ABC23"),
    PlateFormat("DDDLDDD", ("us-nv",), 0.88, "NV: 123A456"),
    PlateFormat("LLLDDDL", ("us-nh",), 0.85, ""),
    PlateFormat("LDDDDDDL", ("us-ny",), 0.88, "NY for-hire vehicles (TLC): T123456C"),
    PlateFormat("DDDDDD", ("us",), 0.82, "numeric series (RI, HI, ...)"),
    PlateFormat("LLDLDDD", ("us-tx",), 0.85, "older TX: AB1C234"),
    # Foreign formats that readers elsewhere will meet (kept modest; no preference over US)
    PlateFormat("LLLDLDD", ("br",), 0.88, "Brazil Mercosur: ABC1D23"),
    PlateFormat("LLDDLLL", ("gb",), 0.85, "UK: AB12CDE"),
    PlateFormat("LLDDDLL", ("fr", "it"), 0.85, "FR/IT: AB123CD"),
    PlateFormat("DDDDLLL", ("es",), 0.85, "ES: 1234BCD"),
)

# Words found on plate frames, stickers and cars that are never plates.
STOPWORDS = frozenset(
    {
        "CALIFORNIA",
        "CALIF",
        "DMV",
        "DMVCAGOV",
        "CAGOV",
        "LICENSE",
        "PLATE",
        "DEALER",
        "DEALERSHIP",
        "MOTORS",
        "AUTO",
        "AUTOS",
        "AUTOMOTIVE",
        "SALES",
        "TOYOTA",
        "HONDA",
        "NISSAN",
        "FORD",
        "CHEVROLET",
        "CHEVY",
        "DODGE",
        "JEEP",
        "BMW",
        "AUDI",
        "MERCEDES",
        "BENZ",
        "LEXUS",
        "ACURA",
        "INFINITI",
        "MAZDA",
        "SUBARU",
        "VOLVO",
        "VOLKSWAGEN",
        "VW",
        "KIA",
        "HYUNDAI",
        "TESLA",
        "BUICK",
        "CADILLAC",
        "GMC",
        "CHRYSLER",
        "LINCOLN",
        "MITSUBISHI",
        "PORSCHE",
        "SATURN",
        "PONTIAC",
        "OLDSMOBILE",
        "SCION",
        "MINI",
        "FIAT",
        "JAGUAR",
        "LANDROVER",
        "RAM",
        "COROLLA",
        "CAMRY",
        "PRIUS",
        "CIVIC",
        "ACCORD",
        "ALTIMA",
        "SENTRA",
        "MUSTANG",
        "FOCUS",
        "TAURUS",
        "SIERRA",
        "TACOMA",
        "TUNDRA",
        "RAV4",
        "CRV",
        "HYBRID",
        "SPORT",
        "TURBO",
        "DIESEL",
        "LIMITED",
        "GT",
        "GTI",
        "EX",
        "LX",
        "LE",
        "SE",
        "XLE",
        "TDI",
        "AWD",
        "FWD",
        "THE",
        "AND",
        "OF",
        "WWW",
        "COM",
        "NET",
        "ORG",
        "USA",
        "AMERICA",
        "STATE",
        "SUNSHINE",
        "GOLDEN",
        "EMPIRE",
        "GARDEN",
        "EXPLORE",
        "EVERGREEN",
        "NEWYORK",
        "NEWJERSEY",
        "TEXAS",
        "FLORIDA",
        "ARIZONA",
        "NEVADA",
        "OREGON",
        "WASHINGTON",
        "ILLINOIS",
        "OHIO",
        "GEORGIA",
        "UTAH",
        "PENNSYLVANIA",
        "VIRGINIA",
        "MICHIGAN",
        "MASSACHUSETTS",
        "CONNECTICUT",
        "COLORADO",
        "STOP",
        "ONLY",
        "PARKING",
        "NO",
        "EXIT",
        "TOW",
        "AWAY",
    }
)

# Pairs drawn with (nearly) the same glyph on many plates: the reader cannot tell them
# apart, so the plate syntax decides.
SAME_GLYPH_PAIRS: tuple[tuple[str, str], ...] = (("O", "0"), ("I", "1"))
SAME_GLYPH_SHARE = 0.3
# Each pair is confusable in both directions.
CONFUSABLE_PAIRS: tuple[tuple[str, str], ...] = (
    ("O", "0"),
    ("D", "0"),
    ("Q", "0"),
    ("I", "1"),
    ("L", "1"),
    ("T", "1"),
    ("B", "8"),
    ("S", "5"),
    ("L", "4"),
    ("Z", "2"),
    ("G", "6"),
    ("A", "4"),
    ("Z", "7"),
    ("B", "3"),
    ("E", "8"),
    ("Y", "V"),
    ("U", "V"),
    ("M", "N"),
    ("H", "N"),
    ("K", "X"),
    ("C", "G"),
    ("P", "R"),
    ("F", "E"),
    ("O", "Q"),
    ("W", "V"),
)


def _confusables() -> dict[str, tuple[str, ...]]:
    table: dict[str, list[str]] = {}
    for a, b in CONFUSABLE_PAIRS:
        table.setdefault(a, []).append(b)
        table.setdefault(b, []).append(a)
    return {k: tuple(v) for k, v in table.items()}


CONFUSABLES = _confusables()
_SAME_GLYPH = {a: b for a, b in SAME_GLYPH_PAIRS} | {b: a for a, b in SAME_GLYPH_PAIRS}
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_SLASHED_ZERO = str.maketrans({"Ø": "0", "ø": "0", "∅": "0"})  # plates often slash the zero


def normalise(text: str) -> str:
    """Upper-case A–Z0–9 only (accents folded, separators and other symbols dropped)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SLASHED_ZERO))
    folded = decomposed.encode("ascii", "ignore").decode("ascii")
    return _NOT_ALNUM.sub("", folded.upper())


def is_stopword(text: str) -> bool:
    """True for words that appear on cars and frames but are never plates."""
    t = normalise(text)
    if t in STOPWORDS:
        return True
    return len(t) >= 6 and any(w in t for w in _LONG_STOPWORDS)


_LONG_STOPWORDS = tuple(sorted(w for w in STOPWORDS if len(w) >= 6))  # the ones found inside longer text


# ASCII letters and digits to their shape class; any other ASCII character is "other".
_ASCII_SHAPE = (
    {i: "-" for i in range(128)} | {ord(c): "A" for c in string.ascii_letters} | {ord(c): "0" for c in string.digits}
)


def _shape(text: str) -> str:
    """The text's shape: "A" for a letter, "0" for a digit, "-" for anything else, per character."""
    if text.isascii():
        return text.translate(_ASCII_SHAPE)  # the common case, in C
    return "".join("A" if c.isalpha() else "0" if c.isdigit() else "-" for c in text)


def matching_formats(text: str) -> list[PlateFormat]:
    # Whether a format fits depends only on the text's shape (letter, digit or other at each place);
    # ranking candidates asks this for thousands of strings per image, so look shapes up once.
    return list(_formats_for_shape(_shape(text)))


@lru_cache(maxsize=1024)
def _formats_for_shape(shape: str) -> tuple[PlateFormat, ...]:
    return tuple(f for f in FORMATS if f.fits(shape))


_OTHER_DIGIT = re.compile(r"[2-9]")


def format_prior(text: str) -> float:
    """How plate-like the *syntax* of ``text`` is: 1.0 for the preferred format, lower otherwise."""
    shape = _shape(text)
    if not _formats_for_shape(shape) and "A" in shape and "0" in shape and not _OTHER_DIGIT.search(text):
        # Free-form text whose only digits are 0 and 1 (drawn like O and I): the syntax cannot tell
        # "R0CKERS" from "ROCKERS", so both get the letters' prior and the reader decides. A bonus for
        # mixing in digits would turn vanity words into "F1LMRN"; the labelled crops' free-form plates
        # are letters only 13 times and letters with 0/1 6 times.
        shape = shape.replace("0", "A")
    return _prior_for_shape(shape)


@lru_cache(maxsize=4096)
def _prior_for_shape(shape: str) -> float:
    fits = _formats_for_shape(shape)
    if fits:
        return max(f.prior for f in fits)
    n = len(shape)
    if n < MIN_LEN or n > MAX_LEN:
        return 0.2
    has_digit = "0" in shape
    has_alpha = "A" in shape
    if 5 <= n <= 8:
        return 0.80 if has_digit and has_alpha else 0.65 if has_digit else 0.55
    return 0.60 if has_digit else 0.45


def region_guess(text: str) -> str | None:
    """The region whose formats ``text`` fits, or None when unknown or ambiguous.

    California formats win a tie because this system runs in California: a
    California camera that reads 1ABC234 is looking at a California plate.
    """
    fits = matching_formats(text)
    if not fits:
        return None
    best = max(f.prior for f in fits)
    regions = {r for f in fits if f.prior == best for r in f.regions}
    if len(regions) == 1:
        return next(iter(regions))
    return None


@dataclass(frozen=True)
class _Slot:
    """Options for one read character: (symbol, probability), best first."""

    options: tuple[tuple[str, float], ...]


def _slots(
    text: str,
    confidence: float,
    char_confidences: Sequence[float],
    char_alternatives: Sequence[Sequence[tuple[str, float]]],
) -> list[_Slot]:
    slots = []
    for i, ch in enumerate(text):
        conf = char_confidences[i] if i < len(char_confidences) else confidence
        conf = min(max(conf, 1e-4), 1.0)
        opts: dict[str, float] = {ch: conf}
        alts = char_alternatives[i] if i < len(char_alternatives) else ()
        for sym, p in alts:
            s = normalise(sym)
            if len(s) == 1 and s not in opts:
                opts[s] = max(p, 1e-6)
        # Confusables the reader did not rank: a share of the doubt it left.
        doubt = max(1.0 - conf, 0.0)
        for sym in CONFUSABLES.get(ch, ()):
            floor = 0.25 * doubt + 0.002
            opts[sym] = max(opts.get(sym, 0.0), floor if alts else 0.5 * doubt + 0.002)
        twin = _SAME_GLYPH.get(ch)
        if twin is not None:
            opts[twin] = max(opts[twin], SAME_GLYPH_SHARE * conf)
        slots.append(_Slot(tuple(sorted(opts.items(), key=lambda kv: -kv[1]))))
    return slots


def _beam(slots: Sequence[_Slot], width: int) -> list[tuple[float, str]]:
    """The ``width`` most likely strings (log-probability, text) over the slots."""
    beam: list[tuple[float, str]] = [(0.0, "")]
    for slot in slots:
        logs = [(sym, math.log(p)) for sym, p in slot.options]
        grown = [(lp + lq, s + sym) for lp, s in beam for sym, lq in logs]
        beam = heapq.nlargest(width, grown)
    return beam


def _best_by_class(slot: _Slot) -> dict[str, tuple[str, float] | None]:
    """For each mask symbol (L, D, A), the slot's most likely option that fits it, if any."""
    letter = next(((sym, p) for sym, p in slot.options if sym.isalpha()), None)
    digit = next(((sym, p) for sym, p in slot.options if sym.isdigit()), None)
    return {"L": letter, "D": digit, "A": slot.options[0] if slot.options else None}


def _best_for_format(
    slots: Sequence[_Slot], fmt: PlateFormat, best: Sequence[dict[str, tuple[str, float] | None]] | None = None
) -> tuple[float, str] | None:
    """The most likely string that fits ``fmt`` (same length as the read), if any.

    ``best`` (``_best_by_class`` of each slot) saves recomputing it for every format."""
    if len(slots) != len(fmt.mask):
        return None
    if best is None:
        best = [_best_by_class(slot) for slot in slots]
    lp, out = 0.0, []
    for by_class, m in zip(best, fmt.mask, strict=True):
        option = by_class[m if m in "LD" else "A"]
        if option is None:
            return None
        sym, p = option
        lp += math.log(p)
        out.append(sym)
    return lp, "".join(out)


def _trimmed(slots: list[_Slot]) -> list[tuple[float, list[_Slot]]]:
    """Variants dropping a doubtful first or last character (frame edges, bolts, dashes)."""
    out: list[tuple[float, list[_Slot]]] = []
    if len(slots) <= 5:
        return out
    for drop in (0, len(slots) - 1):
        p_keep = slots[drop].options[0][1]
        out.append((math.log(max(1.0 - p_keep, 1e-4)), slots[:drop] + slots[drop + 1 :]))
    return out


def plate_candidates(
    text: str,
    confidence: float,
    char_confidences: Sequence[float] = (),
    char_alternatives: Sequence[Sequence[tuple[str, float]]] = (),
    top: int = 5,
) -> list[Candidate]:
    """Ordered plate candidates for one OCR reading (the read itself usually first).

    Each candidate's confidence is the geometric mean of its per-character
    probabilities times the prior of the best format it fits, so a reading that
    fits a known format outranks one that does not, and swapping a confident
    character costs more than swapping a doubtful one.
    """
    plate = normalise(text)
    if len(plate) != len(text) or not char_confidences:
        # Positions no longer line up with the per-character data: use the overall confidence.
        char_confidences, char_alternatives = (), ()
    if not plate or top <= 0:
        return []
    slots = _slots(plate, confidence, char_confidences, char_alternatives)
    scored: dict[str, float] = {}
    variants: list[tuple[float, list[_Slot]]] = [(0.0, slots), *_trimmed(slots)]
    for penalty, vslots in variants:
        pool = _beam(vslots, 48)
        best = [_best_by_class(slot) for slot in vslots]
        pool += [r for f in FORMATS if (r := _best_for_format(vslots, f, best)) is not None]
        for lp, s in pool:
            if len(s) < MIN_LEN:
                continue
            conf = math.exp((lp + penalty) / len(s)) * format_prior(s)
            if conf > scored.get(s, -1.0):
                scored[s] = conf
    ranked = sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [Candidate(s, round(min(max(c, 0.0), 1.0), 4)) for s, c in ranked]
