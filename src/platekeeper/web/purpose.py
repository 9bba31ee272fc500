"""The purpose fields every search, export and share carries (USE-1), read at the edge.

GET routes take them as query parameters, forms as fields of the same names.
The check itself (and the audited refusal) lives in ``services.purposes``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query

from platekeeper.policy.purposes import PurposeRefusal, PurposeStatement

PURPOSE_FIELDS = ("purpose", "case_number", "no_case_reason", "presumed_crime")


def stated_purpose(
    purpose: Annotated[
        str | None, Query(max_length=64, description="an authorised purpose key from the profile")
    ] = None,
    case_number: Annotated[str | None, Query(max_length=64, description="case or incident number")] = None,
    no_case_reason: Annotated[
        str | None, Query(max_length=500, description="why there is no case number (e.g. Amber Alert)")
    ] = None,
    presumed_crime: Annotated[str | None, Query(max_length=500, description="the presumed crime")] = None,
) -> PurposeStatement:
    return PurposeStatement.from_fields(purpose, case_number, no_case_reason, presumed_crime)


def purpose_query(statement: PurposeStatement) -> str:
    """The statement as a query string, so links from a result (detail, image) carry the same purpose."""
    values = {
        "purpose": statement.purpose,
        "case_number": statement.case_number or "",
        "no_case_reason": statement.no_case_reason or "",
        "presumed_crime": statement.presumed_crime,
    }
    return urlencode({k: v for k, v in values.items() if v})


def refusal_status(refusal: PurposeRefusal) -> int:
    """Missing or malformed fields are the caller's mistake (422); a prohibited purpose is a refusal (403)."""
    return 403 if refusal.code in {"prohibited", "screened"} else 422
