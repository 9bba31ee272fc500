"""The audit trail: append-only in the database, hash-chained, verified end to end."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from platekeeper.cli import app
from platekeeper.services import audit
from platekeeper.system import System

pytestmark = pytest.mark.req("AUD-2")
ACTOR = audit.Actor(type="user", id="7", name="jdoe", role="analyst", agency="SJPD", source_ip="10.0.0.8")


def _fill(system: System, n: int = 5) -> None:
    for i in range(n):
        audit.record_alone(
            system.sessions, audit.Event("reads.list", ACTOR, details={"plates": [f"7ABC{i:03d}"], "count": i})
        )


def _drop_guards(system: System) -> None:
    """What an attacker with the database owner's rights could do first."""
    with system.engine.begin() as conn:
        if system.engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_event_no_update ON audit_event"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))


def test_intact_chain_verifies(system: System) -> None:
    _fill(system)
    result = audit.verify(system.sessions)
    assert result.ok and result.rows == 5


def test_the_database_refuses_updates_and_deletes(system: System) -> None:
    _fill(system, 2)
    for statement in (
        "UPDATE audit_event SET actor_name = 'someone' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 1",
    ):
        with pytest.raises(DBAPIError, match="append-only"), system.engine.begin() as conn:
            conn.execute(text(statement))
    assert audit.verify(system.sessions).ok


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ('UPDATE audit_event SET details = \'{"plates": ["0XXX000"], "count": 2}\' WHERE seq = 3', "row 3: contents"),
        ("DELETE FROM audit_event WHERE seq = 2", "rows 2..2 are missing"),
        ("DELETE FROM audit_event WHERE seq = 5", "newest rows are missing"),
    ],
)
def test_tampering_behind_the_apps_back_is_detected(system: System, tmp_path, statement: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    _fill(system)
    _drop_guards(system)
    with system.engine.begin() as conn:
        conn.execute(text(statement))
    result = audit.verify(system.sessions)
    assert not result.ok
    assert any(expected in p for p in result.problems), result.problems


def test_audit_verify_command_exit_codes(system: System, monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(system, 3)
    monkeypatch.setenv("PLATEKEEPER_DATABASE_URL", system.settings.resolved_database_url)
    monkeypatch.setenv("PLATEKEEPER_MASTER_KEY", system.settings.master_key.get_secret_value())  # type: ignore[union-attr]
    runner = CliRunner()
    args = ["--data-dir", str(system.settings.data_dir), "audit", "verify"]
    assert runner.invoke(app, args).exit_code == 0
    _drop_guards(system)
    with system.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET source_ip = '10.9.9.9' WHERE seq = 2"))
    broken = runner.invoke(app, args)
    assert broken.exit_code == 1
    assert "NOT intact" in broken.output


def test_unregistered_event_types_are_a_bug() -> None:
    with pytest.raises(ValueError, match="unregistered"):
        audit.Event("reads.peek", ACTOR)


@pytest.mark.req("AUD-3")
def test_the_database_refuses_changes_to_a_signed_off_audit_sample(system: System) -> None:
    with system.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_sample (id, period_start, period_end, seed, requested_size, population, last_seq, "
                "drawn_by, drawn_at, conclusion, signed_off_by, signed_off_at) VALUES (1, :t, :t, 'abc', 1, 1, 1, "
                "'auditor', :t, 'no concerns', 'auditor', :t)"
            ),
            {"t": "2026-11-01T00:00:00+00:00"},
        )
        conn.execute(
            text(
                "INSERT INTO audit_sample_item (sample_id, audit_seq, flags, assessment) "
                "VALUES (1, 1, '[]', 'compliant')"
            )
        )
    for statement in (
        "UPDATE audit_sample SET conclusion = 'changed' WHERE id = 1",
        "DELETE FROM audit_sample WHERE id = 1",
        "UPDATE audit_sample_item SET assessment = 'violation' WHERE sample_id = 1",
        "DELETE FROM audit_sample_item WHERE sample_id = 1",
    ):
        with pytest.raises(DBAPIError, match="signed off"), system.engine.begin() as conn:
            conn.execute(text(statement))
