"""Purpose-bound access (USE-1, USE-2): refuse and audit before any data is touched."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from platekeeper.policy.profile import PolicyProfile
from platekeeper.policy.purposes import PurposeRefusal, PurposeStatement, check_purpose
from platekeeper.services import audit


class PurposeRefused(Exception):
    """The stated purpose is missing, unknown or prohibited; the refusal is already audited."""

    def __init__(self, refusal: PurposeRefusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def require_purpose(
    sessions: sessionmaker[Session],
    profile: PolicyProfile,
    actor: audit.Actor,
    statement: PurposeStatement,
    *,
    action: str,
    criteria: dict[str, Any] | None = None,
) -> None:
    """Raise ``PurposeRefused`` (after auditing it) unless the statement may proceed.

    Call this before opening the transaction that does the work: the refusal is
    written in a transaction of its own, which on SQLite must not wait on the caller's.
    """
    refusal = check_purpose(profile, statement)
    if refusal is None:
        return
    audit.record_alone(
        sessions,
        audit.Event(
            "purpose.refused",
            actor,
            outcome="refused",
            target=action,
            details={
                **statement.audit_details(),
                "criteria": criteria or {},
                "refusal": refusal.code,
                "prohibited_purpose": refusal.prohibited,
                "reason": refusal.message,
            },
        ),
    )
    raise PurposeRefused(refusal)
