"""Getting alerts out: the live page (in-process hub), MQTT and webhooks (with retries), the administrator.

A delivery row per channel (and per administrator, HOT-6) is written in the transaction that
raised the alert, so an alert is never lost to a crash between commit and send. After commit the
hub pushes the body to connected live pages at once, and a background sender works through the
delivery rows; a failed send is retried with growing delays until ``MAX_ATTEMPTS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import queue
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from platekeeper.services import alert_senders, audit
from platekeeper.services.alert_payload import payload
from platekeeper.store.db import reading, transaction
from platekeeper.store.hotlist_models import Alert, AlertChannel, AlertDelivery
from platekeeper.store.models import User, utcnow
from platekeeper.system import System

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
FIRST_RETRY_S = 1.0
MAX_RETRY_S = 300.0
SWEEP_EVERY_S = 1.0
IDLE_EXIT_S = 30.0
ADMIN_PERMISSION = "hotlists.manage"  # the system administrator's role (HOT-6)


# ---- the live hub: connected SSE clients of this process ----------------------------------------------


@dataclass(frozen=True)
class LiveEvent:
    """One alert event as every live page receives it, encoded once for all of them."""

    key: str  # "<alert uid>:<event>": a page that has it already (from a poll) skips it
    encoded: bytes  # the whole Server-Sent Event, ready for the wire


def local_time(when: dt.datetime | str, zone: ZoneInfo) -> str:
    """A capture time in the agency's zone, as every page shows times."""
    moment = dt.datetime.fromisoformat(when) if isinstance(when, str) else when
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def live_event(body: dict[str, Any], zone: ZoneInfo) -> LiveEvent:
    key = f"{body['id']}:{body.get('event', 'hit')}"
    shown = body | {"local": local_time(body["captured_at"], zone)}
    data = json.dumps(shown, default=str)
    return LiveEvent(key, f"event: alert\r\nid: {body['id']}\r\ndata: {data}\r\n\r\n".encode())


@dataclass(eq=False)
class Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[LiveEvent] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))

    def offer(self, event: LiveEvent) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a stalled client drops alerts; its page re-reads on reconnect
            self.queue.put_nowait(event)


def _offer_all(subscribers: Sequence[Subscriber], events: Sequence[LiveEvent]) -> None:
    for sub in subscribers:
        for event in events:
            sub.offer(event)


class Hub:
    """This process's live pages, and a feed that brings them alerts raised by other processes.

    Alerts raised here are handed over right after their commit. Those raised by another process (a second
    server worker, a CLI ingest) are found by the feed: while any page is open, one thread per process looks
    for new alert rows every ``FEED_EVERY_S`` and publishes those this process has not published itself."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._published: dict[str, None] = {}  # recent event keys, oldest first (bounded)
        self._feed: threading.Thread | None = None

    def subscribe(self, system: System) -> Subscriber:
        sub = Subscriber(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(sub)
            if self._feed is None or not self._feed.is_alive():
                self._feed = threading.Thread(
                    target=_feed, args=(self, weakref.ref(system)), daemon=True, name="platekeeper-alert-feed"
                )
                self._feed.start()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def publish(self, events: Sequence[LiveEvent]) -> None:
        """Hand the events to every subscriber: one wake-up per event loop, not one per page and event."""
        with self._lock:
            fresh = [e for e in events if e.key not in self._published]
            for event in fresh:
                self._published[event.key] = None
            while len(self._published) > MAX_REMEMBERED:
                del self._published[next(iter(self._published))]
            subs = list(self._subscribers)
        by_loop: dict[asyncio.AbstractEventLoop, list[Subscriber]] = {}
        for sub in subs:
            by_loop.setdefault(sub.loop, []).append(sub)
        for loop, group in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(_offer_all, group, fresh)

    def already_published(self, key: str) -> bool:
        with self._lock:
            return key in self._published

    def __len__(self) -> int:
        return len(self._subscribers)


FEED_EVERY_S = 0.2  # one cheap indexed query per process while pages are open
MAX_REMEMBERED = 10_000
MAX_CATCH_UP = 100


def _top_alert_id(system: System) -> int:
    with reading(system.sessions) as session:
        return int(session.scalar(select(func.max(Alert.id))) or 0)


def _new_alert_bodies(system: System, after_id: int, hub: Hub) -> tuple[int, list[dict[str, Any]]]:
    """Alerts stored after ``after_id`` that this process has not published (raised elsewhere)."""
    with reading(system.sessions) as session:
        rows = session.execute(select(Alert.id, Alert.uid).where(Alert.id > after_id).order_by(Alert.id)).all()
        if not rows:
            return after_id, []
        missing = [uid for _, uid in rows if not hub.already_published(f"{uid}:hit")][-MAX_CATCH_UP:]
        found = session.scalars(select(Alert).where(Alert.uid.in_(missing)).order_by(Alert.id)).all() if missing else []
        return rows[-1][0], [payload(session, a) for a in found]


def _feed(hub: Hub, system_ref: weakref.ref[System]) -> None:
    """Runs while pages are open (and the system is alive); a new page starts it again."""
    system = system_ref()
    last_id = _top_alert_id(system) if system is not None else 0
    del system
    while True:
        time.sleep(FEED_EVERY_S)
        system = system_ref()
        with hub._lock:
            if system is None or not hub._subscribers:
                hub._feed = None
                return
        try:
            last_id, bodies = _new_alert_bodies(system, last_id, hub)
            if bodies:
                hub.publish([live_event(body, system.profile.zone) for body in bodies])
        except Exception:  # a failed look (database restarting) must not end the feed
            log.exception("the live alert feed failed to look for new alerts")
        del system


_hubs: weakref.WeakKeyDictionary[Engine, Hub] = weakref.WeakKeyDictionary()
_senders: weakref.WeakKeyDictionary[Engine, Sender] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def hub(system: System) -> Hub:
    with _lock:
        found = _hubs.get(system.engine)
        if found is None:
            found = _hubs[system.engine] = Hub()
        return found


# ---- planning and after-commit ----------------------------------------------------------------------------


def administrators(system: System, session: Session) -> list[User]:
    roles = [r.key for r in system.profile.roles if ADMIN_PERMISSION in r.permissions]
    return list(session.scalars(select(User).where(User.role.in_(roles), User.active.is_(True))))


def plan(system: System, session: Session, alerts: Sequence[Alert], event: str) -> list[int]:
    """Delivery rows for every active channel, and a notification for each administrator (HOT-6)."""
    channels = session.scalars(select(AlertChannel).where(AlertChannel.active.is_(True))).all()
    admins = administrators(system, session)
    now = utcnow()
    rows: list[AlertDelivery] = []
    for alert in alerts:
        rows.extend(
            AlertDelivery(alert_id=alert.id, event=event, channel_id=c.id, next_attempt_at=now) for c in channels
        )
        rows.extend(AlertDelivery(alert_id=alert.id, event=event, recipient_id=a.id, status="unread") for a in admins)
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows if r.channel_id is not None]


def after_commit(system: System, bodies: Sequence[dict[str, Any]], delivery_ids: Sequence[int]) -> None:
    hub(system).publish([live_event(body, system.profile.zone) for body in bodies])
    if delivery_ids:
        submit(system, delivery_ids)


# ---- the background sender ----------------------------------------------------------------------------------


def retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** max(0, attempts - 1)))


def attempt(system: System, delivery_id: int) -> bool:
    """One try at one delivery; the row records the outcome and, on failure, when to try again."""
    with system.sessions() as session, session.begin():
        # Locked: where several workers sweep for due retries, one sends and the others then see it sent.
        row = session.get(AlertDelivery, delivery_id, with_for_update=True)
        if row is None or row.status != "pending" or row.channel is None:
            return True
        channel = row.channel
        body = payload(session, row.alert, row.event)
        row.attempts += 1
        try:
            if channel.kind == "mqtt":
                alert_senders.send_mqtt(channel.target, body)
            else:
                alert_senders.send_webhook(channel.target, channel.secret, body)
        except alert_senders.SendFailed as exc:
            row.last_error = str(exc)
            if row.attempts >= MAX_ATTEMPTS:
                row.status, row.next_attempt_at = "failed", None
            else:
                row.next_attempt_at = utcnow() + retry_delay(row.attempts)
            log.warning("alert delivery %s failed (attempt %s): %s", row.id, row.attempts, exc)
            return False
        row.status, row.delivered_at, row.next_attempt_at, row.last_error = "sent", utcnow(), None, None
        return True


def due(system: System, limit: int = 100) -> list[int]:
    with system.sessions() as session:
        return list(
            session.scalars(
                select(AlertDelivery.id)
                .where(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= utcnow())
                .order_by(AlertDelivery.id)
                .limit(limit)
            )
        )


def deliver_due(system: System) -> int:
    """Try every delivery that is due now (the sender does this every second; the CLI on demand)."""
    ids = due(system)
    for delivery_id in ids:
        attempt(system, delivery_id)
    return len(ids)


class Sender:
    """A daemon thread per database: sends what ingest hands it, and sweeps for retries that fell due.

    It holds the system only weakly and stops after ``IDLE_EXIT_S`` with nothing queued or pending, so a
    closed system (a finished test, a CLI run) does not keep a thread polling its database.
    """

    def __init__(self, system: System) -> None:
        self._system = weakref.ref(system)
        self._engine = system.engine
        self._queue: queue.Queue[int] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="platekeeper-alert-sender", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, ids: Sequence[int]) -> None:
        """Call with ``_lock`` held (see ``submit``): an idle sender cannot retire under a new delivery."""
        for delivery_id in ids:
            self._queue.put(delivery_id)

    def _round(self, system: System, retries_pending: bool) -> bool:
        """Send one queued delivery, or sweep for due retries; whether retries may still be pending."""
        try:
            delivery_id = self._queue.get(timeout=SWEEP_EVERY_S)
        except queue.Empty:
            return retries_pending and deliver_due(system) >= 0 and bool(pending_retries(system))
        return not attempt(system, delivery_id) or retries_pending

    def _run(self) -> None:
        idle_since = time.monotonic()
        retries_pending = True  # on start, look once for deliveries left from before
        while True:
            system = self._system()
            if system is None:
                break
            try:
                retries_pending = self._round(system, retries_pending)
            except Exception:  # keep sending other alerts; the row stays pending and is retried
                log.exception("alert delivery crashed")
            del system
            if retries_pending or not self._queue.empty():
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > IDLE_EXIT_S and self._retire():
                return
        self._retire(force=True)

    def _retire(self, force: bool = False) -> bool:
        """Leave the registry, unless work arrived meanwhile (``submit`` holds the same lock)."""
        with _lock:
            if not force and not self._queue.empty():
                return False
            if _senders.get(self._engine) is self:
                del _senders[self._engine]
            return True


def pending_retries(system: System) -> int:
    with system.sessions() as session:
        found = session.scalar(
            select(AlertDelivery.id).where(AlertDelivery.status == "pending", AlertDelivery.channel_id.is_not(None))
        )
        return 1 if found is not None else 0


def _sender_locked(system: System) -> Sender:
    found = _senders.get(system.engine)
    if found is None or not found.alive:
        found = _senders[system.engine] = Sender(system)
    return found


def sender(system: System) -> Sender:
    with _lock:
        return _sender_locked(system)


def submit(system: System, ids: Sequence[int]) -> None:
    with _lock:
        _sender_locked(system).submit(ids)


def add_channel(system: System, actor: audit.Actor, kind: str, target: str, secret: str | None) -> None:
    """An MQTT broker or webhook every alert and disposition is sent to; checked before it is saved."""
    alert_senders.check_target(kind, target)
    with transaction(system.sessions) as session:
        session.add(AlertChannel(kind=kind, target=target, secret=secret, created_by=actor.name or actor.type))
        audit.record(session, audit.Event("alert.channel", actor, target=f"{kind}:{target}"))


# ---- administrator notifications (HOT-6) ----------------------------------------------------------------------


def notifications(session: Session, user_id: int, *, unread_only: bool = True, limit: int = 100) -> list[AlertDelivery]:
    query = select(AlertDelivery).where(AlertDelivery.recipient_id == user_id)
    if unread_only:
        query = query.where(AlertDelivery.status == "unread")
    return list(session.scalars(query.order_by(AlertDelivery.id.desc()).limit(limit)))


def mark_read(session: Session, user_id: int, delivery_id: int) -> None:
    row = session.get(AlertDelivery, delivery_id)
    if row is None or row.recipient_id != user_id:
        raise LookupError(f"no notification {delivery_id} for you")
    row.status, row.delivered_at = "read", utcnow()
