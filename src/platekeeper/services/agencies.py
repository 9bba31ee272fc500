"""The agency that runs this system, named by its policy profile."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.policy.profile import PolicyProfile
from platekeeper.store.models import Agency


def home_agency(session: Session, profile: PolicyProfile) -> Agency:
    """The profile's agency row, created on first use."""
    agency = session.scalar(select(Agency).where(Agency.name == profile.agency.name))
    if agency is None:
        agency = Agency(name=profile.agency.name, kind=profile.agency.kind)
        session.add(agency)
        session.flush()
    return agency
