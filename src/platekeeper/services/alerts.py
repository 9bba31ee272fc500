"""Alerts: raised at ingest when a read matches an active entry, then verified and disposed (HOT-5, HOT-6).

``on_reads_stored`` runs inside the ingest transaction, so a read and its alerts commit together;
delivery (live page, MQTT, webhooks, the administrator) starts only after that commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from platekeeper.policy import hotlist_rules as rules
from platekeeper.policy.hotlist_matching import Hit, HotListIndex
from platekeeper.services import alert_delivery, audit
from platekeeper.services.alert_payload import payload
from platekeeper.services.hotlist_index import current_index
from platekeeper.store.hotlist_models import Alert, HotList, HotListEntry
from platekeeper.store.models import Read, utcnow
from platekeeper.system import System


class AlertRefused(ValueError):
    """A verification or disposition step the protocol does not allow now; already audited."""


def match_read(session: Session, read: Read, index: HotListIndex | None = None) -> list[Hit]:
    index = index or current_index(session)
    return index.match_read(read.plate, [str(c.get("plate", "")) for c in read.candidates or []])


def _alertable_entries(session: Session, ids: set[int], now: dt.datetime) -> dict[int, HotListEntry]:
    found = session.execute(select(HotListEntry, HotList.active).join(HotList).where(HotListEntry.id.in_(ids))).all()
    return {e.id: e for e, active in found if rules.alertable(e.status, active, e.expires_at, now)}


def _new_alert(read: Read, hit: Hit, entry: HotListEntry) -> Alert:
    return Alert(
        uid=str(uuid.uuid4()),
        read_id=read.id,
        read_uid=read.uid,
        capture_day=read.capture_day,
        camera_id=read.camera_id,
        read_plate=read.plate,
        matched_plate=hit.matched_text,
        matched_on="candidate" if hit.on_candidate else "read",
        match_type=hit.match_type,
        entry_id=entry.id,
        list_id=entry.list_id,
        entry_plate=entry.plate,
        entry_reason=entry.reason,
        alert_type=entry.alert_type,
        captured_at=read.captured_at,
        created_at=utcnow(),
    )


def raise_alerts(session: Session, reads: Sequence[Read]) -> list[Alert]:
    """Match each read (and its alternative readings) against every active list; expired or
    unapproved entries never alert (HOT-2, HOT-3)."""
    index = current_index(session)  # brought up to date once for the whole batch
    matched = [(read, hits) for read in reads if (hits := match_read(session, read, index))]
    if not matched:
        return []
    entries = _alertable_entries(session, {h.entry_id for _, hits in matched for h in hits}, utcnow())
    created: list[Alert] = []
    for read, hits in matched:
        for hit in hits:
            entry = entries.get(hit.entry_id)
            if entry is None:
                continue
            alert = _new_alert(read, hit, entry)
            session.add(alert)
            created.append(alert)
    if created:  # the audit append flushes the alerts with its own rows
        matcher = audit.Actor.system("hot-list matcher")
        audit.record_many(
            session, [audit.Event("alert.create", matcher, target=_target(a), details=_created(a)) for a in created]
        )
    return created


def on_reads_stored(system: System, session: Session, reads: Sequence[Read]) -> None:
    """The ingest hook: alerts in the caller's transaction, delivery once it commits."""
    alerts = raise_alerts(session, reads)
    if not alerts:
        return
    deliveries = alert_delivery.plan(system, session, alerts, "hit")
    by_uid = {r.uid: r for r in reads}
    # Loaded once for the batch and held while the payloads are made: payload() then finds them in the
    # session's identity map, which holds objects only weakly.
    held = [
        *session.scalars(select(HotList).where(HotList.id.in_({a.list_id for a in alerts}))),
        *session.scalars(select(HotListEntry).where(HotListEntry.id.in_({a.entry_id for a in alerts}))),
    ]
    payloads = [payload(session, a, read=by_uid.get(a.read_uid)) for a in alerts]
    del held
    event.listen(
        session, "after_commit", lambda _s: alert_delivery.after_commit(system, payloads, deliveries), once=True
    )


def _created(alert: Alert) -> dict[str, Any]:
    return {
        "read": alert.read_uid,
        "plate": alert.read_plate,
        "matched": alert.matched_plate,
        "match_type": alert.match_type,
        "matched_on": alert.matched_on,
        "entry": alert.entry_id,
    }


def _target(alert: Alert) -> str:
    return f"alert:{alert.uid}"


# ---- verification (HOT-5) and disposition (HOT-6, CAP-5) ------------------------------------------------


def get_alert(session: Session, uid: str) -> Alert:
    alert = session.scalar(select(Alert).where(Alert.uid == uid))
    if alert is None:
        raise LookupError(f"no alert {uid}")
    return alert


def _state(alert: Alert) -> rules.VerificationState:
    return rules.VerificationState(
        plate_confirmed=alert.plate_confirmed,
        clets_attempted=alert.clets_attempted,
        clets_result=alert.clets_result,
        occupants_match=alert.occupants_match,
        wanted_person=alert.alert_type == "wanted_person",
    )


def _refuse(system: System, actor: audit.Actor, uid: str, exc: Exception) -> AlertRefused:
    reason = str(exc).strip("'\"")
    audit.record_alone(
        system.sessions,
        audit.Event("alert.refused", actor, outcome="refused", target=f"alert:{uid}", details={"reason": reason}),
    )
    return AlertRefused(reason)


def verify(
    system: System,
    actor: audit.Actor,
    uid: str,
    *,
    plate_confirmed: bool | None = None,
    clets_result: str | None = None,
    occupants_match: bool | None = None,
) -> Alert:
    """Record one or more verification steps; each is audited with who and when."""
    try:
        with system.sessions() as session, session.begin():
            alert = get_alert(session, uid)
            if alert.status == "closed":
                raise rules.RuleBroken("this alert is closed; its record can no longer change")
            steps = _apply_steps(alert, actor, plate_confirmed, clets_result, occupants_match)
            if not steps:
                raise rules.RuleBroken("nothing to record: answer at least one verification step")
            alert.status = "verifying"
            audit.record(session, audit.Event("alert.verify", actor, target=_target(alert), details=steps))
            return alert
    except (rules.RuleBroken, LookupError) as exc:
        raise _refuse(system, actor, uid, exc) from exc


def _apply_steps(
    alert: Alert, actor: audit.Actor, plate_confirmed: bool | None, clets_result: str | None, occupants: bool | None
) -> dict[str, Any]:
    now, who = utcnow(), actor.name or actor.type
    steps: dict[str, Any] = {}
    if plate_confirmed is not None:
        alert.plate_confirmed, alert.confirmed_by, alert.confirmed_at = plate_confirmed, who, now
        steps["plate_confirmed"] = plate_confirmed
    if clets_result is not None:
        if clets_result not in rules.CLETS_RESULTS:
            raise rules.RuleBroken(f"CLETS result must be one of {', '.join(rules.CLETS_RESULTS)}")
        alert.clets_attempted, alert.clets_result, alert.clets_by, alert.clets_at = True, clets_result, who, now
        steps["clets_result"] = clets_result
    if occupants is not None:
        if alert.alert_type != "wanted_person":
            raise rules.RuleBroken("occupants are compared only on wanted-person hits")
        alert.occupants_match = occupants
        steps["occupants_match"] = occupants
    return steps


def dispose(
    system: System, actor: audit.Actor, uid: str, *, disposition: str, action_taken: str | None, note: str | None
) -> Alert:
    """The action taken and final disposition; refused before a verification attempt (HOT-5)."""
    try:
        with system.sessions() as session, session.begin():
            alert = get_alert(session, uid)
            if alert.status == "closed":
                raise rules.RuleBroken("this alert already has its final disposition")
            state = _state(alert)
            if (action_taken or "").strip():
                rules.check_action(state)
            rules.check_disposition(disposition, state)
            now = utcnow()
            if (action_taken or "").strip():
                alert.action_taken, alert.action_at = action_taken, now
            alert.disposition, alert.disposition_note = disposition, (note or "").strip() or None
            alert.disposed_by, alert.disposed_at, alert.status = actor.name or actor.type, now, "closed"
            details = {"disposition": disposition, "action_taken": action_taken, "note": alert.disposition_note}
            audit.record(session, audit.Event("alert.dispose", actor, target=_target(alert), details=details))
            deliveries = alert_delivery.plan(system, session, [alert], "disposition")
            body = payload(session, alert, "disposition")
            event.listen(
                session, "after_commit", lambda _s: alert_delivery.after_commit(system, [body], deliveries), once=True
            )
            return alert
    except (rules.RuleBroken, LookupError) as exc:
        raise _refuse(system, actor, uid, exc) from exc


def recent(session: Session, actor: audit.Actor, *, limit: int = 50, open_only: bool = False) -> Sequence[Alert]:
    """Newest alerts; audited with the plates shown."""
    query = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if open_only:
        query = query.where(Alert.status != "closed")
    found = session.scalars(query).all()
    audit.record(
        session,
        audit.Event(
            "alert.view",
            actor,
            target="alerts",
            details={"alerts": [a.uid for a in found], "plates": [a.read_plate for a in found]},
        ),
    )
    return found
