"""Hot-list and alert rules from the San José protocol (SJ 4.2–4.8): pure functions, no I/O.

* HOT-1: a department entry names the member (name, badge, assignment), case number(s) and a synopsis.
* HOT-2: only a lieutenant (``hotlists.approve``) other than the entering member activates an entry.
* HOT-3: an entry has an owner, a review date and an expiry; an expired entry never alerts.
* HOT-5: "action taken" is recorded only after a verification attempt (CLETS); wanted-person hits also
  need the occupants compared with the description.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

DEFAULT_REVIEW_DAYS = 30
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 365
REMINDER_LEAD = dt.timedelta(days=3)
CLETS_RESULTS = ("valid", "not_valid", "no_response")
DISPOSITIONS: dict[str, str] = {
    "stopped": "Vehicle stopped",
    "arrested": "Stopped, arrest made",
    "recovered": "Stolen vehicle recovered",
    "not_located": "Vehicle not located",
    "no_action": "No action: hit no longer valid (CLETS)",
    "misread": "Misread: the plate did not match",
}
ACTION_DISPOSITIONS = frozenset({"stopped", "arrested", "recovered"})  # acting on the hit: verification first


class RuleBroken(ValueError):
    """A rule of the protocol forbids this; the message says which and why."""


@dataclass(frozen=True)
class EntryAuthor:
    user_id: int
    name: str
    badge: str | None
    assignment: str | None


def check_author(author: EntryAuthor) -> None:
    missing = [
        label for label, value in (("badge number", author.badge), ("assignment", author.assignment)) if not value
    ]
    if missing:
        raise RuleBroken(
            f"your account has no {' or '.join(missing)}: a hot-list entry must name the entering member's "
            "name, badge number and assignment (HOT-1); ask an administrator to complete your account"
        )


def check_entry_text(synopsis: str, case_numbers: list[str], no_case_reason: str | None) -> None:
    if len(synopsis.strip()) < 10:
        raise RuleBroken("a synopsis with the presumed crime or other purpose is required (HOT-1)")
    if not case_numbers and not no_case_reason:
        raise RuleBroken("at least one case number is required, or the reason there is none (HOT-1, USE-1)")


def check_dates(now: dt.datetime, review_on: dt.date, expires_at: dt.datetime) -> None:
    if expires_at <= now:
        raise RuleBroken("the expiry must lie in the future (HOT-3)")
    if expires_at - now > dt.timedelta(days=MAX_EXPIRY_DAYS):
        raise RuleBroken(f"an entry may run at most {MAX_EXPIRY_DAYS} days before it is renewed (HOT-3)")
    if review_on > expires_at.date():
        raise RuleBroken("the review date must come before the expiry (HOT-3)")


def check_approver(approver_id: int, approver_permissions: frozenset[str], author_id: int | None) -> None:
    if "hotlists.approve" not in approver_permissions:
        raise RuleBroken("only a lieutenant (hotlists.approve) may approve hot-list entries (HOT-2)")
    if author_id is not None and approver_id == author_id:
        raise RuleBroken("the member who entered a hot-list entry cannot approve it (HOT-2)")


def alertable(status: str, list_active: bool, expires_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Only approved, unexpired entries of active lists alert (HOT-2, HOT-3)."""
    return status == "active" and list_active and (expires_at is None or expires_at > now)


def reminder_due(review_on: dt.date | None, expires_at: dt.datetime | None, now: dt.datetime) -> bool:
    if review_on is not None and review_on <= now.date():
        return True
    return expires_at is not None and expires_at - now <= REMINDER_LEAD


@dataclass(frozen=True)
class VerificationState:
    plate_confirmed: bool | None
    clets_attempted: bool
    clets_result: str | None
    occupants_match: bool | None
    wanted_person: bool


def check_action(state: VerificationState) -> None:
    """HOT-5: no action on a hit before the plate was confirmed and a CLETS verification attempted."""
    if state.plate_confirmed is not True:
        raise RuleBroken("confirm visually that the plate matches before recording action taken (HOT-5)")
    if not state.clets_attempted:
        raise RuleBroken("verify the hit through CLETS before recording action taken (HOT-5)")
    if state.wanted_person and state.occupants_match is None:
        raise RuleBroken("for a wanted-person hit, compare the occupants with the description first (HOT-5)")


def check_disposition(disposition: str, state: VerificationState) -> None:
    """What each disposition needs first: a misread the visual "no", acting on the hit full verification,
    "no action" a CLETS attempt; "not located" nothing (the officer never saw the vehicle)."""
    if disposition not in DISPOSITIONS:
        raise RuleBroken(f"unknown disposition {disposition!r}: choose one of {', '.join(DISPOSITIONS)}")
    if disposition == "misread":
        if state.plate_confirmed is not False:
            raise RuleBroken("a misread is recorded by answering 'no' to the visual confirmation (HOT-5, CAP-5)")
    elif disposition == "no_action":
        if not state.clets_attempted:
            raise RuleBroken("'no action' rests on the CLETS check: record its result first (HOT-5)")
    elif disposition in ACTION_DISPOSITIONS:
        check_action(state)
