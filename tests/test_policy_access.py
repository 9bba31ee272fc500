"""Pure policy rules for access (ACC) and purpose (USE): table-driven, no database."""

from __future__ import annotations

import datetime as dt

import pytest

from platekeeper.policy import access
from platekeeper.policy.profile import load_profile, parse_profile
from platekeeper.policy.purposes import PurposeStatement, check_purpose

SJ = load_profile("san-jose-dup")
TODAY = dt.date(2026, 11, 25)
NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
ALL_TOPICS = SJ.training.topics


def _trained(days_ago: int, topics: tuple[str, ...] = ALL_TOPICS) -> access.Training:
    return access.Training(topics, TODAY - dt.timedelta(days=days_ago))


@pytest.mark.req("ACC-1")
@pytest.mark.parametrize(
    ("records", "current", "missing"),
    [
        ([], False, ALL_TOPICS),
        ([_trained(10)], True, ()),
        ([_trained(365)], True, ()),  # the last valid day
        ([_trained(366)], False, ALL_TOPICS),  # expired
        ([_trained(10, ALL_TOPICS[:3])], False, ALL_TOPICS[3:]),  # practical exercise missing
        ([_trained(400), _trained(5, ALL_TOPICS[3:]), _trained(6, ALL_TOPICS[:3])], True, ()),  # renewed in parts
    ],
)
def test_training_is_current_only_with_every_topic_within_validity(
    records: list[access.Training], current: bool, missing: tuple[str, ...]
) -> None:
    status = access.training_status(SJ, records, TODAY)
    assert status.current is current
    assert status.missing_topics == missing


def test_training_expiry_date_is_the_earliest_topic_lapse() -> None:
    status = access.training_status(SJ, [_trained(100, ALL_TOPICS[:2]), _trained(10, ALL_TOPICS[2:])], TODAY)
    assert status.expires_on == TODAY - dt.timedelta(days=100) + dt.timedelta(days=365)


def _account(**changes: object) -> access.AccountState:
    base: dict[str, object] = {
        "active": True,
        "approved": True,
        "training": access.training_status(SJ, [_trained(1)], TODAY),
        "locked_until": None,
        "last_activity": NOW - dt.timedelta(days=1),
    }
    return access.AccountState(**(base | changes))  # type: ignore[arg-type]


@pytest.mark.req("ACC-1", "ACC-3")
@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"active": False}, "disabled"),
        ({"approved": False}, "approval"),
        ({"training": access.training_status(SJ, [], TODAY)}, "training"),
        ({"locked_until": NOW + dt.timedelta(minutes=1)}, "locked"),
        ({"locked_until": NOW - dt.timedelta(minutes=1)}, None),  # the lock has lifted
        ({"last_activity": NOW - dt.timedelta(days=91)}, "idle"),
    ],
)
def test_sign_in_gate(changes: dict[str, object], reason: str | None) -> None:
    block = access.sign_in_block(SJ, _account(**changes), NOW)
    assert (block is None) if reason is None else (block is not None and reason in block)


def test_lockout_after_the_profiles_threshold() -> None:
    threshold = SJ.accounts.lockout_threshold
    assert access.lockout_after_failure(SJ, threshold - 1, NOW) is None
    assert access.lockout_after_failure(SJ, threshold, NOW) == NOW + dt.timedelta(minutes=SJ.accounts.lockout_minutes)


@pytest.mark.req("ACC-2")
def test_second_factor_for_law_enforcement_roles_only() -> None:
    assert access.needs_second_factor(SJ, SJ.role("officer"))
    assert access.needs_second_factor(SJ, SJ.role("admin"))
    assert not access.needs_second_factor(SJ, SJ.role("auditor"))
    assert not access.needs_second_factor(SJ, SJ.role("parking_staff"))


@pytest.mark.req("ACC-5", "PRK-4")
def test_grants_apply_but_police_data_never_reaches_parking_roles() -> None:
    parking = SJ.role("parking_staff")
    assert access.effective_permissions(parking, {"reads.view": True, "hotlists.view": True}) == {"parking_reads.view"}
    assert access.effective_permissions(parking, {"cameras.view": True}) == {"parking_reads.view", "cameras.view"}
    officer = SJ.role("officer")
    assert "images.view" not in access.effective_permissions(officer, {"images.view": False})
    assert access.effective_permissions(None, {"reads.view": True}) == frozenset()


@pytest.mark.req("ACC-1")
def test_approval_needs_another_supervisor() -> None:
    assert access.approval_problem(7, frozenset({"users.approve"}), 7) is not None  # self
    assert access.approval_problem(7, frozenset({"reads.view"}), 8) is not None  # not a supervisor
    assert access.approval_problem(7, frozenset({"users.approve"}), 8) is None


def test_a_profile_granting_police_data_to_a_parking_role_is_refused() -> None:
    text = load_profile_text().replace(
        "permissions: [parking_reads.view]", "permissions: [parking_reads.view, reads.view]", 1
    )
    with pytest.raises(ValueError, match="law-enforcement roles"):
        parse_profile(text)


def load_profile_text() -> str:
    from importlib import resources

    return resources.files("platekeeper.policy.profiles").joinpath("san-jose-dup.yaml").read_text()


def _statement(**changes: str | None) -> PurposeStatement:
    fields: dict[str, str | None] = {
        "purpose": "criminal_investigation",
        "case_number": "SJ-26-1234",
        "no_case_reason": None,
        "presumed_crime": "PC 211 robbery",
    }
    fields |= changes
    return PurposeStatement.from_fields(**fields)


@pytest.mark.req("USE-1", "USE-2")
@pytest.mark.parametrize(
    ("changes", "code", "prohibited"),
    [
        ({}, None, None),
        ({"case_number": None, "no_case_reason": "Amber Alert in progress"}, None, None),
        ({"purpose": ""}, "missing", None),
        ({"case_number": None}, "missing", None),
        ({"presumed_crime": "  "}, "missing", None),
        ({"case_number": "<script>"}, "invalid", None),
        ({"purpose": "curiosity"}, "unknown", None),
        ({"purpose": "immigration"}, "prohibited", "immigration"),
        ({"purpose": "sale"}, "prohibited", "sale"),
        ({"presumed_crime": "find who attended the protest"}, "screened", "first_amendment"),
        ({"presumed_crime": "ICE detainer request"}, "screened", "immigration"),
        ({"case_number": None, "no_case_reason": "Deportation order"}, "screened", "immigration"),
        ({"presumed_crime": "Marijuana possession"}, "screened", "minor_drug_offence"),  # the draft's list, on
        ({"presumed_crime": "suspect marched off with a catalytic converter"}, None, None),  # "march" is a word
    ],
)
def test_purpose_rules(changes: dict[str, str | None], code: str | None, prohibited: str | None) -> None:
    refusal = check_purpose(SJ, _statement(**changes))
    assert (refusal.code if refusal else None) == code
    assert (refusal.prohibited if refusal else None) == prohibited


@pytest.mark.req("USE-2")
def test_draft_prohibitions_apply_only_when_the_profile_opts_in() -> None:
    statement = _statement(presumed_crime="Marijuana possession")
    relaxed = SJ.model_copy(update={"purposes": SJ.purposes.model_copy(update={"include_draft_prohibitions": False})})
    assert check_purpose(SJ, statement) is not None
    assert check_purpose(relaxed, statement) is None
