"""Who may sign in, and what a role may do: pure rules, no I/O (ACC-1..5).

An account signs in only when it is enabled, approved by a supervisor other
than its holder, trained on every topic of the profile within the validity
period, not locked after repeated failures, and not idle past the profile's
limit. A role's permissions are the profile's baseline with an administrator's
changes on top; police-data permissions never reach non-law-enforcement roles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from platekeeper.policy.permissions import grant_problem
from platekeeper.policy.profile import PolicyProfile, Role


@dataclass(frozen=True)
class Training:
    topics: tuple[str, ...]
    completed_on: dt.date


@dataclass(frozen=True)
class TrainingStatus:
    current: bool
    missing_topics: tuple[str, ...]  # never trained, or trained too long ago
    expires_on: dt.date | None  # when the earliest of the current topics lapses

    def describe(self) -> str:
        if self.current:
            return f"current until {self.expires_on}"
        return "missing or expired: " + ", ".join(t.replace("_", " ") for t in self.missing_topics)


def training_status(profile: PolicyProfile, records: Iterable[Training], today: dt.date) -> TrainingStatus:
    """Current when every required topic was covered within ``validity_days`` before ``today``."""
    validity = dt.timedelta(days=profile.training.validity_days)
    latest: dict[str, dt.date] = {}
    for record in records:
        for topic in record.topics:
            if topic not in latest or record.completed_on > latest[topic]:
                latest[topic] = record.completed_on
    missing = tuple(t for t in profile.training.topics if t not in latest or latest[t] + validity < today)
    lapses = [latest[t] + validity for t in profile.training.topics if t in latest]
    expires = min(lapses) if lapses and not missing else None
    return TrainingStatus(current=not missing, missing_topics=missing, expires_on=expires)


@dataclass(frozen=True)
class AccountState:
    active: bool
    approved: bool
    training: TrainingStatus
    locked_until: dt.datetime | None
    last_activity: dt.datetime  # last sign-in, or approval, or creation


def is_idle(profile: PolicyProfile, last_activity: dt.datetime, now: dt.datetime) -> bool:
    return now - last_activity > dt.timedelta(days=profile.accounts.idle_disable_days)


def sign_in_block(profile: PolicyProfile, account: AccountState, now: dt.datetime) -> str | None:
    """Why this account may not sign in (or keep a session) now, or None. Shown only after a right password."""
    if account.locked_until is not None and account.locked_until > now:
        return "the account is locked after repeated failed sign-ins; try again later or ask an administrator"
    if not account.active:
        return "the account is disabled; ask an administrator"
    if not account.training.current:
        return "the account has no current training record (" + account.training.describe() + ")"
    if not account.approved:
        return "the account is waiting for a supervisor's approval"
    if is_idle(profile, account.last_activity, now):
        return f"the account was idle for more than {profile.accounts.idle_disable_days} days and is disabled"
    return None


def needs_second_factor(profile: PolicyProfile, role: Role | None) -> bool:
    """ACC-2: law-enforcement roles sign in with a second factor (when the profile says so, as it does by default)."""
    return role is not None and role.law_enforcement and profile.accounts.second_factor_for_law_enforcement


def lockout_after_failure(profile: PolicyProfile, failures: int, now: dt.datetime) -> dt.datetime | None:
    """When ``failures`` consecutive failures reach the threshold, the time the lock lifts."""
    if failures >= profile.accounts.lockout_threshold:
        return now + dt.timedelta(minutes=profile.accounts.lockout_minutes)
    return None


def effective_permissions(role: Role | None, overrides: Mapping[str, bool]) -> frozenset[str]:
    """The profile's permissions for the role, with an administrator's grants and removals applied.

    A grant the role may never hold (police data for a non-law-enforcement role) is
    ignored here as well as refused when made: deny by default.
    """
    if role is None:
        return frozenset()
    held = set(role.permissions)
    for permission, granted in overrides.items():
        if granted and grant_problem(permission, role.law_enforcement) is None:
            held.add(permission)
        elif not granted:
            held.discard(permission)
    return frozenset(held)


def approval_problem(approver_id: int, approver_permissions: frozenset[str], subject_id: int) -> str | None:
    """ACC-1: a supervisor other than the user approves the account."""
    if approver_id == subject_id:
        return "you may not approve your own account: a different supervisor must approve it"
    if "users.approve" not in approver_permissions:
        return "only a supervisor (a role with 'users.approve') may approve accounts"
    return None
