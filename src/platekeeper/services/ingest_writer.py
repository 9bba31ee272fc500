"""One ingest writer per database: submissions wait in a queue and commit together (group commit).

Every camera request used to open its own write transaction, so under load the request threads
queued for SQLite's single write lock (and on PostgreSQL for the audit chain head), each paying a
commit, a chain-head lock and a hot-list index check for one read. Here one thread takes whatever
submissions are waiting (up to ``MAX_BATCH``) and stores them in one transaction: one commit, one
lock on the chain head, one flush. A request still gets its own answer, and its own error: when a
batch fails, its submissions are retried one by one, so one bad submission cannot sink the others.

The thread is started on first use and retires after ``IDLE_EXIT_S`` without work, so a closed
system (a finished test, a CLI run) leaves no thread behind.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

if TYPE_CHECKING:
    from platekeeper.services.ingest import IngestResult, Submission
    from platekeeper.system import System

log = logging.getLogger(__name__)
MAX_BATCH = 64
# While several senders are active, wait this long for more submissions to share a commit: each commit
# has a fixed cost (write lock, audit chain head, hot-list version, delivery plan), and at a moderate
# rate batches would otherwise stay small. A lone sender (a CLI import, one camera) never waits.
GATHER_S = 0.025
IDLE_EXIT_S = 5.0

WriteBatch = Callable[["System", Sequence["Submission"]], list["IngestResult"]]


@dataclass(frozen=True)
class _Job:
    system: System
    submission: Submission
    write: WriteBatch
    done: Future[IngestResult]


class _Writer:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.Queue[_Job] = queue.Queue()
        self._last_size = 1
        self._thread = threading.Thread(target=self._run, name="platekeeper-ingest-writer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def put(self, job: _Job) -> None:
        """Call with ``_lock`` held (see ``store``): an idle writer cannot retire under a new job."""
        self._queue.put(job)

    def _run(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=IDLE_EXIT_S)]
            except queue.Empty:
                if self._retire():
                    return
                continue
            self._drain(batch, wait=0.0)
            if len(batch) > 1 or self._last_size > 1:  # several senders at once: worth waiting for more
                self._drain(batch, wait=GATHER_S)
            self._last_size = len(batch)
            _write(batch)
            del batch  # drop the jobs' systems before waiting for the next one

    def _drain(self, batch: list[_Job], wait: float) -> None:
        """Add what is queued, and what arrives within ``wait`` seconds, up to ``MAX_BATCH``."""
        until = time.monotonic() + wait
        while len(batch) < MAX_BATCH:
            try:
                batch.append(
                    self._queue.get(timeout=max(0.0, until - time.monotonic())) if wait else self._queue.get_nowait()
                )
            except queue.Empty:
                return

    def _retire(self) -> bool:
        with _lock:
            if not self._queue.empty():
                return False
            if _writers.get(self._engine) is self:
                del _writers[self._engine]
            return True


def _settle(job: _Job, outcome: Any, failed: bool) -> None:
    if failed:
        job.done.set_exception(outcome)
    else:
        job.done.set_result(outcome)


def _write(batch: list[_Job]) -> None:
    first = batch[0]
    try:
        results = first.write(first.system, [job.submission for job in batch])
    except BaseException as exc:  # handed to the waiting request, never lost
        if len(batch) == 1:
            _settle(first, exc, failed=True)
            return
        log.info("an ingest batch of %d failed (%s); storing its submissions one by one", len(batch), exc)
        for job in batch:
            try:
                _settle(job, job.write(job.system, [job.submission])[0], failed=False)
            except BaseException as one:
                _settle(job, one, failed=True)
        return
    for job, result in zip(batch, results, strict=True):
        _settle(job, result, failed=False)


_writers: dict[Engine, _Writer] = {}
_lock = threading.Lock()


def store(system: System, submission: Submission, write: WriteBatch) -> IngestResult:
    """Queue ``submission`` for the database's writer and wait until it is committed (or refused)."""
    job = _Job(system, submission, write, Future())
    with _lock:
        writer = _writers.get(system.engine)
        if writer is None or not writer.alive:
            writer = _writers[system.engine] = _Writer(system.engine)
        writer.put(job)
    return job.done.result()
