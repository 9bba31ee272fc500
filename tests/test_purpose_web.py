"""Purpose-bound access through the HTTP API and pages (USE-1, USE-2): refusals say why and are audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from platekeeper.store.models import AuditEvent
from platekeeper.system import System
from tests.helpers import PURPOSE, client_for, login, make_user


def _refusals(system: System) -> list[AuditEvent]:
    with system.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.event_type == "purpose.refused")))


@pytest.mark.req("USE-1", "AUD-1")
def test_a_search_without_purpose_is_refused_and_audited(system: System) -> None:
    make_user(system, "ana", "analyst")
    client = client_for(system)
    assert login(client, "ana") == 303
    response = client.get("/api/v1/reads")
    assert response.status_code == 422 and "purpose" in response.json()["detail"]
    refused = _refusals(system)[-1]
    assert refused.actor_name == "ana" and refused.outcome == "refused" and refused.target == "reads.list"
    no_case = client.get("/api/v1/reads", params={**PURPOSE, "case_number": ""})
    assert no_case.status_code == 422 and "case" in no_case.json()["detail"]
    assert client.get("/api/v1/reads", params=PURPOSE).status_code == 200


@pytest.mark.req("USE-2", "AUD-1")
@pytest.mark.parametrize(
    ("change", "prohibited"),
    [
        ({"purpose": "immigration"}, "immigration"),
        ({"presumed_crime": "identify protest organisers"}, "first_amendment"),
        ({"presumed_crime": "sell data to an insurer"}, "sale"),
    ],
)
def test_a_prohibited_purpose_is_refused_says_why_and_is_audited(
    system: System, change: dict[str, str], prohibited: str
) -> None:
    make_user(system, "ana", "analyst")
    client = client_for(system)
    login(client, "ana")
    response = client.get("/api/v1/reads", params={**PURPOSE, **change})
    assert response.status_code == 403 and "refused" in response.json()["detail"]
    refused = _refusals(system)[-1]
    assert refused.details["prohibited_purpose"] == prohibited
    assert refused.details["presumed_crime"] == {**PURPOSE, **change}["presumed_crime"]


@pytest.mark.req("USE-1")
def test_the_reads_page_asks_for_the_purpose_first(system: System) -> None:
    make_user(system, "ana", "analyst")
    client = client_for(system)
    login(client, "ana")
    ask = client.get("/reads")
    assert ask.status_code == 200 and 'name="presumed_crime"' in ask.text and "table" not in ask.text
    assert _refusals(system) == []  # asking is not a refusal: nothing was requested yet
    refused = client.get("/reads", params={**PURPOSE, "presumed_crime": "ICE hold"})
    assert refused.status_code == 403 and "prohibited purpose" in refused.text
    assert client.get("/reads", params=PURPOSE).status_code == 200
