"""Several server workers on one database: one does the background duties; every one serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from platekeeper.services import leader
from platekeeper.system import System
from tests.conftest import TEST_MASTER_KEY


def test_one_process_at_a_time_holds_the_background_duties(system: System) -> None:
    first = leader.try_acquire(system)
    assert first is not None
    assert leader.try_acquire(system) is None  # another worker: not while the first holds it
    first.release()  # as when the holder ends
    second = leader.try_acquire(system)
    assert second is not None
    second.release()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_with_two_workers_answers_from_both(tmp_path: os.PathLike[str]) -> None:
    env = os.environ | {"PLATEKEEPER_DATA_DIR": str(tmp_path), "PLATEKEEPER_MASTER_KEY": TEST_MASTER_KEY}
    cli = [sys.executable, "-m", "platekeeper"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        [*cli, "serve", "--workers", "2", "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline, answered = time.monotonic() + 60, 0
        while time.monotonic() < deadline and answered < 20:
            try:
                answered += httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.3)
        assert answered == 20
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert errors.count("Started server process") == 2, errors
