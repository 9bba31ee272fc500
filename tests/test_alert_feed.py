"""Alerts raised by another process (a second server worker, a CLI ingest) reach the open live pages too."""

from __future__ import annotations

import json
import queue
import threading
import time

import httpx
import pytest
from sqlalchemy import select

from platekeeper.services import hotlists, users
from platekeeper.settings import Settings
from platekeeper.store.db import transaction
from platekeeper.store.models import User
from platekeeper.system import System
from tests.conftest import ADMIN_ACTOR, TEST_MASTER_KEY
from tests.helpers import make_camera
from tests.hotlist_helpers import active_entry, ingest_read, member


def _listen(base: str, cookie: str, events: queue.Queue[dict[str, object]], ready: threading.Event) -> None:
    with (
        httpx.Client(base_url=base, cookies={"pk_session": cookie}, timeout=None) as client,
        client.stream("GET", "/alerts/stream") as stream,
    ):
        kind = ""
        for line in stream.iter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
                if kind == "ready":
                    ready.set()
            elif line.startswith("data:") and kind == "alert":
                events.put(json.loads(line[5:]))
                return


@pytest.mark.req("HOT-6")
def test_an_alert_raised_in_another_process_reaches_the_live_page(live_server: tuple[str, System]) -> None:
    base, server_system = live_server
    with transaction(server_system.sessions) as session:
        hotlists.create_list(session, ADMIN_ACTOR, key="sjpd", name="SJPD hot list")
    officer = member(server_system, "ofc.feed", "officer")
    lieutenant = member(server_system, "lt.feed", "lieutenant", badge="1201")
    active_entry(server_system, officer, lieutenant, "7FED123")
    make_camera(server_system, "cam-elsewhere")
    with transaction(server_system.sessions) as session:
        user = session.scalars(select(User).where(User.username == "ofc.feed")).one()
        cookie = users.open_session(session, user, 1, "127.0.0.1")

    events: queue.Queue[dict[str, object]] = queue.Queue()
    ready = threading.Event()
    listener = threading.Thread(target=_listen, args=(base, cookie, events, ready), daemon=True)
    listener.start()
    assert ready.wait(10)

    # Another process: its own System on the same data directory (own engine, own in-process hub).
    elsewhere = System.build(Settings(data_dir=server_system.settings.data_dir, master_key=TEST_MASTER_KEY))
    try:
        stored = time.monotonic()
        read = ingest_read(elsewhere, "cam-elsewhere", "7FED123", with_images=False).created[0]
    finally:
        elsewhere.close()
    alert = events.get(timeout=5)
    assert alert["read"] == read.uid and alert["plate"] == "7FED123"
    assert time.monotonic() - stored < 3  # the feed looks five times a second
