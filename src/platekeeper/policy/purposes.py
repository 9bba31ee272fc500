"""Purpose limitation (USE-1, USE-2): pure checks, no I/O.

Every search, export, hot-list entry and share states an authorised purpose, a
case or incident number (or why there is none), and the presumed crime. A
prohibited purpose is refused, whether it is chosen outright or shows through
in the free text (a screening term such as "protest" or "immigration").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from platekeeper.policy.profile import PolicyProfile, ProhibitedPurpose

MAX_TEXT = 500
CASE_NUMBER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./:#-]{0,63}$")


@dataclass(frozen=True)
class PurposeStatement:
    purpose: str
    case_number: str | None
    no_case_reason: str | None
    presumed_crime: str

    @classmethod
    def from_fields(
        cls,
        purpose: str | None,
        case_number: str | None,
        no_case_reason: str | None,
        presumed_crime: str | None,
    ) -> PurposeStatement:
        """Trim the raw fields; blanks become None (or "" for the required ones), checked by ``check_purpose``."""
        return cls(
            purpose=(purpose or "").strip(),
            case_number=(case_number or "").strip() or None,
            no_case_reason=(no_case_reason or "").strip() or None,
            presumed_crime=(presumed_crime or "").strip(),
        )

    def audit_details(self) -> dict[str, Any]:
        """The standard keys every purpose-bound audit record carries."""
        return {
            "purpose": self.purpose,
            "case_number": self.case_number,
            "no_case_reason": self.no_case_reason,
            "presumed_crime": self.presumed_crime,
        }

    def free_text(self) -> str:
        return " ".join(t for t in (self.no_case_reason, self.presumed_crime, self.case_number) if t)


@dataclass(frozen=True)
class PurposeRefusal:
    code: str  # missing | invalid | unknown | prohibited | screened
    message: str
    prohibited: str | None = None  # the prohibited purpose's key, when one applies


def _term_pattern(term: str) -> re.Pattern[str]:
    # Whole words, any case and spacing: "ICE detainer" matches "ice  detainer", "march" does not match "marched".
    words = [re.escape(w) for w in term.lower().split()]
    return re.compile(r"(?<![a-z0-9])" + r"\s+".join(words) + r"(?![a-z0-9])")


def screen_text(profile: PolicyProfile, text: str) -> tuple[ProhibitedPurpose, str] | None:
    """The first active prohibited purpose whose screening terms appear in ``text``, with the term found."""
    lowered = text.lower()
    for prohibition in profile.purposes.active_prohibitions():
        for term in prohibition.screening_terms:
            if _term_pattern(term).search(lowered):
                return prohibition, term
    return None


def _missing_fields(statement: PurposeStatement) -> PurposeRefusal | None:
    if not statement.purpose:
        return PurposeRefusal("missing", "state the purpose: choose one of the authorised purposes")
    if not statement.case_number and not statement.no_case_reason:
        return PurposeRefusal(
            "missing", "give a case or incident number, or say why there is none (for example an Amber Alert)"
        )
    if not statement.presumed_crime:
        return PurposeRefusal("missing", "state the presumed crime (or the emergency, for a missing person)")
    return None


def _invalid_fields(statement: PurposeStatement) -> PurposeRefusal | None:
    if statement.case_number and not CASE_NUMBER_PATTERN.fullmatch(statement.case_number):
        return PurposeRefusal(
            "invalid", "the case number may hold letters, digits, spaces and . / : # - (at most 64 characters)"
        )
    for name, value in (("reason", statement.no_case_reason), ("presumed crime", statement.presumed_crime)):
        if value and len(value) > MAX_TEXT:
            return PurposeRefusal("invalid", f"the {name} is longer than {MAX_TEXT} characters")
    return None


def check_purpose(profile: PolicyProfile, statement: PurposeStatement) -> PurposeRefusal | None:
    """None when the statement may proceed; otherwise why it is refused (shown to the user and audited)."""
    problem = _missing_fields(statement) or _invalid_fields(statement)
    if problem:
        return problem
    prohibited = {p.key: p for p in profile.purposes.active_prohibitions()}
    if statement.purpose in prohibited:
        label = prohibited[statement.purpose].label
        return PurposeRefusal("prohibited", f"refused: '{label}' is a prohibited purpose", statement.purpose)
    if statement.purpose not in {p.key for p in profile.purposes.authorised}:
        known = ", ".join(p.key for p in profile.purposes.authorised)
        return PurposeRefusal("unknown", f"unknown purpose {statement.purpose!r}; authorised purposes: {known}")
    found = screen_text(profile, statement.free_text())
    if found:
        prohibition, term = found
        return PurposeRefusal(
            "screened",
            f"refused: the stated reason mentions {term!r}, which points to a prohibited purpose "
            f"('{prohibition.label}')",
            prohibition.key,
        )
    return None
