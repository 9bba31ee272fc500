"""Shared fixtures: a system on SQLite always, and on PostgreSQL whenever a server is reachable.

PostgreSQL comes from ``PLATEKEEPER_TEST_POSTGRES_URL`` or the local server on
127.0.0.1:5432; each test run gets a database of its own, migrated by the same
Alembic path as production, and drops it at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from platekeeper.services.audit import Actor
from platekeeper.settings import Settings
from platekeeper.system import System

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TEST_MASTER_KEY = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq8M="  # 32 bytes, tests only
ADMIN_ACTOR = Actor(type="system", name="tests")


def _postgres_admin_url() -> str | None:
    url = os.environ.get("PLATEKEEPER_TEST_POSTGRES_URL", DEFAULT_PG)
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return None
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    admin_url = _postgres_admin_url()
    if admin_url is None:
        pytest.skip("PostgreSQL not reachable (set PLATEKEEPER_TEST_POSTGRES_URL): PostgreSQL tests skipped")
    name = f"platekeeper_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def shared_recognizer():  # type: ignore[no-untyped-def]
    """The models load once per test run."""
    from platekeeper.recognition.pipeline import default_recognizer

    return default_recognizer(threads=2)


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    _reset_postgres(url)
    return url


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, master_key=TEST_MASTER_KEY, profile="san-jose-dup")


@pytest.fixture
def system(settings: Settings, request: pytest.FixtureRequest) -> Iterator[System]:
    built = System.build(settings, migrate=True)
    if "shared_recognizer" in request.fixturenames:
        built._recognizer = request.getfixturevalue("shared_recognizer")
    yield built
    built.close()


# ---- browser tests: a live server and a Chromium page ------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-results"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, System]]:
    """The app on a real port (uvicorn in a thread) over embedded SQLite, for the browser tests."""
    import uvicorn

    from platekeeper.web.app import create_app

    settings = Settings(data_dir=tmp_path / "data", master_key=TEST_MASTER_KEY)
    system = System.build(settings, migrate=True)
    if "shared_recognizer" in request.fixturenames:
        system._recognizer = request.getfixturevalue("shared_recognizer")
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, system=system), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", system
    server.should_exit = True
    thread.join(timeout=5)
    system.close()


@pytest.fixture
def page():  # type: ignore[no-untyped-def]
    """A Playwright page in Debian's Chromium."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium): browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
        yield context.new_page()
        browser.close()


# ---- conformance table: requirement IDs named by tests, with their outcomes -------------------------------
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--conformance-json", default=None, help="write requirement → test outcomes as JSON here")


_outcomes: dict[str, dict[str, object]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _outcomes.setdefault(report.nodeid, {"outcome": "not run", "reqs": []})
    if report.failed:
        entry["outcome"] = "failed"
    elif report.skipped and entry["outcome"] != "failed":
        entry["outcome"] = "skipped"
    elif report.when == "call" and report.passed and entry["outcome"] == "not run":
        entry["outcome"] = "passed"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        reqs = sorted({rid for mark in item.iter_markers("req") for rid in mark.args})
        _outcomes[item.nodeid] = {"outcome": "not run", "reqs": reqs}


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = session.config.getoption("--conformance-json")
    if target:
        import json

        Path(target).write_text(json.dumps(_outcomes, indent=1, sort_keys=True))
