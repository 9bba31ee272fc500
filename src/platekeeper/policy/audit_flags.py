"""Audit review rules (AUD-3): which events are accesses to ALPR data, how a sample is drawn, what gets flagged.

Pure functions, no I/O: the service feeds them facts about audit events.

*Accesses* are the events that show, search, export, share or refuse ALPR data,
made by a user, camera or edge unit (not the system's own housekeeping). The rule
is by name, so event types added later under the same prefixes (``search.plate``,
``export.csv``, ``hotlist.entry_create`` ...) are sampled too.

*The draw* is reproducible by anyone, without platekeeper: every access in the
population gets the key ``SHA-256("<seed>:<seq>")`` (hex, UTF-8) and the
``size`` accesses with the smallest keys form the sample. Given the hash, each
subset of that size is equally likely; the same seed, period and chain tip
always give the same items, and a different seed gives an unrelated sample.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from platekeeper.policy.profile import AuditReview

# Event types that are accesses to ALPR data, by exact name ...
ACCESS_TYPES = frozenset(
    {"reads.list", "read.view", "image.view", "locations.view", "purpose.refused", "access.refused"}
)
# ... and by prefix, so that types registered later by searches, exports, sharing and hot lists count too.
ACCESS_PREFIXES = ("search.", "export.", "evidence.", "share.", "hotlist.", "alert.")
NOT_ACCESSORS = frozenset({"system"})  # actor types whose events are never sampled

ASSESSMENTS = ("compliant", "concern", "violation")
WILDCARD_CHARS = frozenset("*?")

# Flag keys in display order, with a plain-language explanation for the auditor.
FLAGS: dict[str, str] = {
    "bulk": "returned more records than the bulk threshold",
    "wildcard": "used a partial plate (wildcard * or ?)",
    "off_hours": "happened outside normal hours (agency time)",
    "repeated_plate": "the same user looked up the same plate repeatedly in the period",
    "refused": "the request was refused",
}


def is_access(event_type: str, actor_type: str | None = None) -> bool:
    """True for events that record an access (or an attempted access) to ALPR data by a person or device.

    The system's own housekeeping (hot-list synchronisation, the matcher raising an alert) is not an access.
    """
    if actor_type in NOT_ACCESSORS:
        return False
    return event_type in ACCESS_TYPES or event_type.startswith(ACCESS_PREFIXES)


@dataclass(frozen=True)
class AccessFacts:
    """What the flag rules need to know about one audit event."""

    seq: int
    event_type: str
    occurred_at: dt.datetime  # aware
    outcome: str
    actor: str  # a stable key for the person: user id, else name
    details: Mapping[str, Any]


# ---- the draw ------------------------------------------------------------------------------------------------
def draw_key(seed: str, seq: int) -> str:
    """The sort key of one access in the draw: SHA-256 of ``"<seed>:<seq>"``, hex."""
    return hashlib.sha256(f"{seed}:{seq}".encode()).hexdigest()


def draw(seqs: Iterable[int], seed: str, size: int) -> list[int]:
    """The ``size`` sequence numbers with the smallest draw keys, in ascending order."""
    if size < 0:
        raise ValueError("sample size must not be negative")
    ranked = sorted(set(seqs), key=lambda seq: (draw_key(seed, seq), seq))
    return sorted(ranked[:size])


# ---- flags ----------------------------------------------------------------------------------------------------
def result_count(details: Mapping[str, Any]) -> int | None:
    value = details.get("result_count")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def is_bulk(details: Mapping[str, Any], threshold: int) -> bool:
    """More results than the threshold."""
    count = result_count(details)
    return count is not None and count > threshold


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def is_wildcard(details: Mapping[str, Any]) -> bool:
    """A search criterion or a queried plate holds a wildcard character (* or ?)."""
    values = [details.get("criteria"), details.get("plate"), details.get("plates")]
    return any(WILDCARD_CHARS & set(text) for text in _strings(values))


def in_window(local: dt.time, start: dt.time, end: dt.time) -> bool:
    """``start <= local < end``; when start is after end the window wraps past midnight; start == end is empty."""
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def is_off_hours(occurred_at: dt.datetime, zone: ZoneInfo, start: dt.time, end: dt.time) -> bool:
    """The access happened inside the off-hours window, in the agency's local time."""
    local = occurred_at.astimezone(zone).time().replace(tzinfo=None)
    return in_window(local, start, end)


def queried_plates(details: Mapping[str, Any]) -> set[str]:
    """The plates an access asked for or opened: ``plate``, and ``plate``/``plates`` in the criteria.

    Plates merely *shown* in a list (``details["plates"]`` of ``reads.list``) are not queries.
    """
    found: set[str] = set()
    criteria = details.get("criteria")
    sources: list[Any] = [details.get("plate")]
    if isinstance(criteria, Mapping):
        sources += [criteria.get("plate"), criteria.get("plates")]
    for text in _strings(sources):
        plate = text.strip().upper()
        if plate:
            found.add(plate)
    return found


def count_plates(counts: dict[tuple[str, str], int], facts: AccessFacts) -> None:
    """Add one access to the (person, plate) query counts."""
    for plate in queried_plates(facts.details):
        counts[(facts.actor, plate)] = counts.get((facts.actor, plate), 0) + 1


def plate_counts(population: Iterable[AccessFacts]) -> dict[tuple[str, str], int]:
    """How often each person queried each plate."""
    counts: dict[tuple[str, str], int] = {}
    for facts in population:
        count_plates(counts, facts)
    return counts


def is_repeated_plate(facts: AccessFacts, counts: Mapping[tuple[str, str], int], threshold: int) -> bool:
    return any(counts.get((facts.actor, plate), 0) >= threshold for plate in queried_plates(facts.details))


def flags_for(
    facts: AccessFacts, rules: AuditReview, zone: ZoneInfo, counts: Mapping[tuple[str, str], int]
) -> list[str]:
    """Every flag that applies, in the order of ``FLAGS``."""
    checks = {
        "bulk": is_bulk(facts.details, rules.bulk_result_threshold),
        "wildcard": is_wildcard(facts.details),
        "off_hours": is_off_hours(facts.occurred_at, zone, rules.off_hours_start, rules.off_hours_end),
        "repeated_plate": is_repeated_plate(facts, counts, rules.repeated_plate_threshold),
        "refused": facts.outcome == "refused",
    }
    return [flag for flag in FLAGS if checks[flag]]
