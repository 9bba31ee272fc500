"""Ingest from files and the demo, through the real CLI."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from platekeeper.cli import app
from platekeeper.services import audit
from platekeeper.services.cameras import add_gps_fixes, get_camera
from platekeeper.store.db import transaction
from platekeeper.store.models import Read
from platekeeper.system import System
from tests.conftest import TEST_MASTER_KEY
from tests.helpers import make_camera, plate_jpeg

pytestmark = pytest.mark.slow


def _cli(system: System, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("PLATEKEEPER_DATABASE_URL", system.settings.resolved_database_url)
    monkeypatch.setenv("PLATEKEEPER_MASTER_KEY", TEST_MASTER_KEY)
    return ["--data-dir", str(system.settings.data_dir)]


def _plates(system: System) -> list[str]:
    with system.sessions() as session:
        return sorted(session.scalars(select(Read.plate)))


@pytest.mark.req("CAP-1", "CAP-3")
def test_ingest_folder_honours_privacy_masks(
    system: System, shared_recognizer: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "captures"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(plate_jpeg("7ABC123", 3))
    (folder / "broken.jpg").write_bytes(b"not an image")
    make_camera(system, "open-cam")
    make_camera(system, "masked-cam", masks=[[[0, 0], [960, 0], [960, 540], [0, 540]]])  # the whole frame
    args = _cli(system, monkeypatch)
    runner = CliRunner()
    stamp = "2026-05-01T10:00:00-07:00"
    result = runner.invoke(app, [*args, "ingest", "--camera", "open-cam", "--captured-at", stamp, str(folder)])
    assert result.exit_code == 0, result.output
    assert "1 reads stored" in result.output and "broken.jpg" in result.output
    assert _plates(system) == ["7ABC123"]
    masked = runner.invoke(app, [*args, "ingest", "--camera", "masked-cam", str(folder / "a.jpg")])
    assert masked.exit_code == 0 and "0 reads stored" in masked.output
    assert _plates(system) == ["7ABC123"]
    with system.sessions() as session:
        read = session.scalars(select(Read)).one()
        assert read.captured_at == dt.datetime(2026, 5, 1, 17, 0, tzinfo=dt.UTC)
        assert (read.latitude, read.longitude) == (37.3, -121.9)
        assert {i.kind for i in read.images} == {"crop", "frame"}


@pytest.mark.req("CAP-1")
def test_mobile_read_takes_the_nearest_gps_fix(
    system: System, shared_recognizer: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_camera(system, "car-12", kind="mobile")
    t0 = dt.datetime(2026, 5, 1, 17, 0, tzinfo=dt.UTC)
    with transaction(system.sessions) as session:
        fixes = [(t0 + dt.timedelta(seconds=30 * i), 37.33 + i * 0.001, -121.89) for i in range(5)]
        add_gps_fixes(session, get_camera(session, "car-12"), fixes)
    image = tmp_path / "car.jpg"
    image.write_bytes(plate_jpeg("5XYZ789", 5))
    when = (t0 + dt.timedelta(seconds=65)).isoformat()  # nearest fix: #2 at +60 s
    result = CliRunner().invoke(
        app, [*_cli(system, monkeypatch), "ingest", "--camera", "car-12", "--captured-at", when, str(image)]
    )
    assert result.exit_code == 0, result.output
    with system.sessions() as session:
        read = session.scalars(select(Read)).one()
    assert read.plate == "5XYZ789"
    assert read.latitude == pytest.approx(37.332) and read.longitude == pytest.approx(-121.89)


@pytest.mark.req("CAP-3")
def test_an_unattested_camera_cannot_ingest(system: System, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_camera(system, "new-cam", attested=False)
    image = tmp_path / "car.jpg"
    image.write_bytes(plate_jpeg())
    result = CliRunner().invoke(app, [*_cli(system, monkeypatch), "ingest", "--camera", "new-cam", str(image)])
    assert result.exit_code == 1 and "attestation" in result.output


def test_demo_sets_up_a_working_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLATEKEEPER_DATABASE_URL", raising=False)
    data = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    password = re.search(r"password:\s+(\S+)", result.output)
    totp_key = re.search(r"TOTP key:\s+([A-Z2-7]+)", result.output)
    assert password and totp_key and "reads stored:   18" in result.output
    again = CliRunner().invoke(app, ["demo", "--no-serve", "--data-dir", str(data)])
    assert again.exit_code == 0 and password.group(1) not in again.output  # shown only once
    from platekeeper.settings import Settings

    system = System.build(Settings(data_dir=data))
    try:
        from tests.helpers import PURPOSE, TOTP_SECRETS, client_for, login

        TOTP_SECRETS["admin"] = totp_key.group(1)
        client = client_for(system)
        assert login(client, "admin", password.group(1)) == 303
        page = client.get("/reads", params=PURPOSE)
        assert page.status_code == 200 and page.text.count('class="plate"') == 18
        assert audit.verify(system.sessions).ok
    finally:
        system.close()
