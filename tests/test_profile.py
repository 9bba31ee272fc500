"""The agency policy profile: built-ins valid, unknown keys refused, errors name the line."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner

from platekeeper.cli import app
from platekeeper.policy.profile import BUILTIN_PROFILES, ProfileError, load_profile, parse_profile

SJ_TEXT = resources.files("platekeeper.policy.profiles").joinpath("san-jose-dup.yaml").read_text()


@pytest.mark.parametrize("name", sorted(BUILTIN_PROFILES))
def test_builtin_profiles_are_valid(name: str) -> None:
    profile = load_profile(name)
    assert profile.retention.audit_days >= 730
    assert any("users.manage" in r.permissions for r in profile.roles)


@pytest.mark.req("USE-2")
def test_san_jose_profile_carries_the_prohibited_uses() -> None:
    profile = load_profile("san-jose-dup")
    keys = {p.key for p in profile.purposes.active_prohibitions()}
    assert {"immigration", "first_amendment", "sale", "automated_enforcement", "non_public_view"} <= keys
    assert {"minor_drug_offence", "prostitution"} <= keys  # the stricter draft list is on by default
    santa_clara = {p.key for p in load_profile("santa-clara-pd").purposes.active_prohibitions()}
    assert "prostitution" not in santa_clara


@pytest.mark.req("RET-1", "SHR-5")
def test_profiles_differ_where_the_policies_do() -> None:
    assert load_profile("san-jose-dup").retention.reads_days == 365
    assert load_profile("san-jose-parking").retention.images_days == 30
    assert load_profile("san-jose-dup").sharing.mode == "confirm_on_request"
    assert load_profile("santa-clara-pd").sharing.mode == "direct_access"


@pytest.mark.req("ACC-4", "PRK-4")
def test_roles_cover_the_required_classes_and_parking_never_sees_police_reads() -> None:
    profile = load_profile("san-jose-dup")
    assert {
        "officer",
        "analyst",
        "lieutenant",
        "admin",
        "auditor",
        "privacy_officer",
        "records_manager",
        "parking_staff",
        "parking_contractor",
    } <= set(profile.role_keys())
    for key in ("parking_staff", "parking_contractor"):
        role = profile.role(key)
        assert role is not None and "reads.view" not in role.permissions


def test_unknown_key_is_refused_with_its_line() -> None:
    text = SJ_TEXT.replace("  hits_days: 365\n", "  hits_days: 365\n  hit_days: 5\n")
    line = text.splitlines().index("  hit_days: 5") + 1
    with pytest.raises(ProfileError) as caught:
        parse_profile(text, "x.yaml")
    problem = caught.value.problems[0]
    assert (problem.line, problem.where) == (line, "retention.hit_days")
    assert "unknown key" in problem.message


def test_wrong_type_names_the_line() -> None:
    text = SJ_TEXT.replace("lockout_threshold: 5", "lockout_threshold: many")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "lockout_threshold" in t)
    with pytest.raises(ProfileError) as caught:
        parse_profile(text, "x.yaml")
    assert caught.value.problems[0].line == line


@pytest.mark.req("AUD-2")
def test_audit_retention_under_two_years_is_refused() -> None:
    with pytest.raises(ProfileError, match="audit_days"):
        parse_profile(SJ_TEXT.replace("audit_days: 730", "audit_days: 365"), "x.yaml")


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile("name: x\nagency: [unclosed\n", "x.yaml")
    assert caught.value.problems[0].line is not None


def test_bad_time_zone_and_unknown_permission() -> None:
    text = SJ_TEXT.replace("America/Los_Angeles", "Mars/Olympus").replace(
        "[reads.view, images.view, cameras.view, hotlists.view",
        "[reads.view, images.fly, cameras.view, hotlists.view",
        1,
    )
    with pytest.raises(ProfileError) as caught:
        parse_profile(text, "x.yaml")
    text_of = str(caught.value)
    assert "unknown time zone" in text_of and "images.fly" in text_of


def test_config_validate_command(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(SJ_TEXT)
    bad = tmp_path / "bad.yaml"
    bad.write_text(SJ_TEXT.replace("  kind: law_enforcement", "  kind: law_enforcement\n  colour: blue"))
    runner = CliRunner()
    ok = runner.invoke(app, ["config", "validate", str(good)])
    assert ok.exit_code == 0 and "valid policy profile" in ok.output
    refused = runner.invoke(app, ["config", "validate", str(bad)])
    assert refused.exit_code == 1
    assert "line 10, column 3: agency.colour: unknown key" in refused.output
