"""The server's background duties for hot lists: scheduled external syncs (HOT-4), the daily review
sweep (HOT-3), and retries of alert deliveries left pending (for instance across a restart).

One daemon thread per server process; where several workers share a database, only the holder of the
background-duties lease (services/leader.py) does them. ``platekeeper hotlists run-due`` does the same
once, for cron.
"""

from __future__ import annotations

import logging
import threading
import time

from platekeeper.services import alert_delivery, hotlist_import, hotlists, leader
from platekeeper.system import System

log = logging.getLogger(__name__)
TICK_S = 30.0
SWEEP_EVERY_S = 3600.0


def run_due(system: System) -> dict[str, int]:
    """One round: due syncs, the review sweep, due deliveries. Returns what was done."""
    synced = hotlist_import.sync_due(system)
    swept = hotlists.sweep(system)
    delivered = alert_delivery.deliver_due(system)
    return {
        "synced": len(synced),
        "sync_failures": sum(s.outcome == "failed" for s in synced),
        "reminded": len(swept.reminded),
        "expired": len(swept.expired),
        "deliveries_tried": delivered,
    }


class Scheduler:
    def __init__(self, system: System) -> None:
        self._system = system
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="platekeeper-hotlists", daemon=True)

    def start(self) -> None:
        alert_delivery.sender(self._system)  # picks up deliveries left pending before a restart
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        last_sweep = 0.0
        lease: leader.Lease | None = None
        while not self._stop.wait(TICK_S):
            if lease is None:  # another worker holds it; it is released when that worker ends
                lease = leader.try_acquire(self._system)
                if lease is None:
                    continue
                log.info("this process does the background duties (%s)", lease.kind)
            try:
                for result in hotlist_import.sync_due(self._system):
                    if result.outcome == "failed":
                        log.warning("hot-list sync failed: %s", result.error)
                if time.monotonic() - last_sweep >= SWEEP_EVERY_S:
                    last_sweep = time.monotonic()
                    hotlists.sweep(self._system)
            except Exception:  # a bad round must not end the schedule
                log.exception("hot-list scheduler round failed")
        if lease is not None:
            lease.release()
