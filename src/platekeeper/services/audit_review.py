"""Reviewing the audit trail: the searchable log (AUD-1), and random audits by another unit (AUD-3).

- ``search_log``: the audit log, filtered and newest first; every look at it is itself audited (``audit.view``).
- ``draw_sample``: a reproducible random sample of accesses in a period, each item flagged by the rules in
  ``policy.audit_flags`` (``audit.sample``).
- ``record_finding`` / ``sign_off``: the auditor's assessment of each item, then a conclusion; a signed-off
  sample is read-only, and nobody assesses or signs off accesses they made themselves.
- reports (CSV, PDF) are built in ``audit_reports`` from ``sample_rows``.

Refusals are audited in a transaction of their own, after the caller's has been rolled back.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from platekeeper.policy import audit_flags
from platekeeper.policy.audit_flags import ACCESS_PREFIXES, ACCESS_TYPES, ASSESSMENTS, NOT_ACCESSORS, AccessFacts
from platekeeper.policy.profile import PolicyProfile
from platekeeper.services import audit
from platekeeper.store.db import transaction
from platekeeper.store.models import AuditChainHead, AuditEvent, AuditSample, AuditSampleItem, utcnow

MAX_SAMPLE_SIZE = 1000
MAX_TEXT = 4000
OUTCOMES = ("allowed", "refused", "failed")
_SEED = re.compile(r"^[\x21-\x7e]{1,64}$")  # printable ASCII, no spaces: easy to copy into a report
_PLATE_FILTER = re.compile(r"[^A-Z0-9*?]")


class AuditReviewError(Exception):
    """A request the review refuses, with the HTTP status it maps to (404, 403, 409 or 422)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# ---- the audit log -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogFilter:
    start: dt.datetime | None = None  # inclusive
    end: dt.datetime | None = None  # exclusive
    event_type: str | None = None
    user: str | None = None  # the actor's name (username), case-insensitive
    plate: str | None = None  # any mention in the event's details (plate, plates, criteria)
    outcome: str | None = None
    access_only: bool = False

    def __post_init__(self) -> None:
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise AuditReviewError(f"unknown outcome {self.outcome!r} (use one of {', '.join(OUTCOMES)})")
        if self.start and self.end and self.start >= self.end:
            raise AuditReviewError("the period must end after it starts")
        for value in (self.start, self.end):
            if value is not None and value.tzinfo is None:
                raise AuditReviewError("times need a time zone")

    @property
    def plate_text(self) -> str | None:
        return _PLATE_FILTER.sub("", self.plate.upper()) or None if self.plate else None

    def as_details(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in asdict(self).items() if v}


@dataclass(frozen=True)
class LogPage:
    events: list[AuditEvent]
    next_before: int | None  # pass as ``before_seq`` for the next (older) page


def access_clause() -> ColumnElement[bool]:
    """SQL for ``audit_flags.is_access``: the same names and prefixes."""
    return and_(
        AuditEvent.actor_type.not_in(sorted(NOT_ACCESSORS)),
        or_(
            AuditEvent.event_type.in_(sorted(ACCESS_TYPES)),
            *[AuditEvent.event_type.startswith(prefix, autoescape=True) for prefix in ACCESS_PREFIXES],
        ),
    )


def _log_conditions(filters: LogFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.start is not None:
        conditions.append(AuditEvent.occurred_at >= filters.start)
    if filters.end is not None:
        conditions.append(AuditEvent.occurred_at < filters.end)
    if filters.event_type:
        conditions.append(AuditEvent.event_type == filters.event_type)
    if filters.user:
        conditions.append(func.lower(AuditEvent.actor_name) == filters.user.strip().lower())
    if filters.plate_text:
        conditions.append(cast(AuditEvent.details, String).contains(filters.plate_text, autoescape=True))
    if filters.outcome:
        conditions.append(AuditEvent.outcome == filters.outcome)
    if filters.access_only:
        conditions.append(access_clause())
    return conditions


def search_log(
    session: Session, actor: audit.Actor, filters: LogFilter, *, limit: int = 50, before_seq: int | None = None
) -> LogPage:
    """One page of the audit log, newest first; the look itself is audited."""
    limit = max(1, min(limit, 500))
    query = select(AuditEvent).where(*_log_conditions(filters))
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    rows = list(session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit + 1)))
    more, rows = len(rows) > limit, rows[:limit]
    audit.record(
        session,
        audit.Event(
            "audit.view",
            actor,
            target="audit_log",
            details={"filters": filters.as_details(), "before_seq": before_seq, "result_count": len(rows)},
        ),
    )
    return LogPage(events=rows, next_before=rows[-1].seq if more and rows else None)


def record_verification(sessions: sessionmaker[Session], actor: audit.Actor) -> audit.VerifyResult:
    """Verify the chain and audit that it was checked (the check itself reveals no ALPR data)."""
    result = audit.verify(sessions)
    audit.record_alone(
        sessions,
        audit.Event(
            "audit.view",
            actor,
            target="audit_verify",
            details={"rows": result.rows, "ok": result.ok, "problems": len(result.problems)},
        ),
    )
    return result


# ---- what an event says, for people -------------------------------------------------------------------------
def event_summary(event: AuditEvent) -> dict[str, Any]:
    """The data elements of an access, flattened for display and reports."""
    details: Mapping[str, Any] = event.details or {}
    plates: list[str] = []
    for value in (details.get("plate"), details.get("plates")):
        if isinstance(value, str):
            plates.append(value)
        elif isinstance(value, list):
            plates.extend(str(v) for v in value)
    criteria = details.get("criteria")
    return {
        "purpose": details.get("purpose") or "",
        "case_number": details.get("case_number") or "",
        "no_case_reason": details.get("no_case_reason") or "",
        "presumed_crime": details.get("presumed_crime") or "",
        "plates": plates,
        "criteria": {k: v for k, v in criteria.items() if v not in (None, "", [], {})}
        if isinstance(criteria, Mapping)
        else {},
        "result_count": audit_flags.result_count(details),
        "reason": details.get("reason") or details.get("refusal") or "",
    }


def made_by(event: AuditEvent, actor: audit.Actor) -> bool:
    """Whether ``actor`` made this access (the independence rule)."""
    if event.actor_type != "user" or actor.type != "user":
        return False
    if event.actor_id is not None and actor.id is not None:
        return event.actor_id == actor.id
    return event.actor_name is not None and event.actor_name == actor.name


def _facts(event: AuditEvent) -> AccessFacts:
    return AccessFacts(
        seq=event.seq,
        event_type=event.event_type,
        occurred_at=event.occurred_at,
        outcome=event.outcome,
        actor=f"{event.actor_type}:{event.actor_id or event.actor_name or ''}",
        details=event.details or {},
    )


# ---- drawing a sample ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleRequest:
    period_start: dt.datetime
    period_end: dt.datetime
    size: int
    seed: str
    up_to_seq: int | None = None  # the chain tip to draw below; None: the current tip


def _request_problem(request: SampleRequest, tip: int) -> str | None:
    if request.period_start.tzinfo is None or request.period_end.tzinfo is None:
        return "the period's times need a time zone"
    if request.period_start >= request.period_end:
        return "the period must end after it starts"
    if not 1 <= request.size <= MAX_SAMPLE_SIZE:
        return f"the sample size must be between 1 and {MAX_SAMPLE_SIZE}"
    if not _SEED.match(request.seed):
        return "the seed must be 1 to 64 printable characters without spaces"
    if request.up_to_seq is not None and not 0 <= request.up_to_seq <= tip:
        return f"the chain tip to draw below must be between 0 and the current tip, {tip}"
    return None


@dataclass
class _Population:
    seqs: list[int] = field(default_factory=list)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)


def _population(session: Session, start: dt.datetime, end: dt.datetime, last_seq: int) -> _Population:
    """Every access in [start, end) up to ``last_seq``, with how often each person queried each plate."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.occurred_at >= start, AuditEvent.occurred_at < end, AuditEvent.seq <= last_seq)
        .where(access_clause())
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=2000)
    )
    population = _Population()
    for event in session.scalars(query):
        facts = _facts(event)
        population.seqs.append(facts.seq)
        audit_flags.count_plates(population.counts, facts)
    return population


def redraw(session: Session, sample: AuditSample) -> list[int]:
    """The sequence numbers the sample's seed, period, size and chain tip select today: its items, if untampered."""
    population = _population(session, sample.period_start, sample.period_end, sample.last_seq)
    return audit_flags.draw(population.seqs, sample.seed, sample.requested_size)


def new_seed() -> str:
    return secrets.token_hex(16)


def draw_sample(
    sessions: sessionmaker[Session],
    profile: PolicyProfile,
    actor: audit.Actor,
    period_start: dt.datetime,
    period_end: dt.datetime,
    size: int | None = None,
    seed: str | None = None,
    *,
    up_to_seq: int | None = None,
) -> AuditSample:
    """Draw, store and audit a sample of the accesses in ``[period_start, period_end)``."""
    request = SampleRequest(
        period_start=period_start,
        period_end=period_end,
        size=profile.audit_review.default_sample_size if size is None else size,
        seed=(seed or "").strip() or new_seed(),
        up_to_seq=up_to_seq,
    )
    with transaction(sessions) as session:
        head = session.get(AuditChainHead, 1)
        tip = head.last_seq if head else 0
        problem = _request_problem(request, tip)
        if problem is None:
            return _draw(session, profile, actor, request, tip)
    _refuse(sessions, "audit.sample", actor, "audit_sample:new", problem, {"request": _request_details(request)})
    raise AuditReviewError(problem)


def _request_details(request: SampleRequest) -> dict[str, Any]:
    return {
        "period_start": request.period_start.isoformat(),
        "period_end": request.period_end.isoformat(),
        "size": request.size,
        "seed": request.seed,
        "up_to_seq": request.up_to_seq,
    }


def _draw(
    session: Session, profile: PolicyProfile, actor: audit.Actor, request: SampleRequest, tip: int
) -> AuditSample:
    last_seq = tip if request.up_to_seq is None else request.up_to_seq
    population = _population(session, request.period_start, request.period_end, last_seq)
    chosen = audit_flags.draw(population.seqs, request.seed, request.size)
    events = {e.seq: e for e in session.scalars(select(AuditEvent).where(AuditEvent.seq.in_(chosen)))}
    sample = AuditSample(
        period_start=request.period_start,
        period_end=request.period_end,
        seed=request.seed,
        requested_size=request.size,
        population=len(population.seqs),
        last_seq=last_seq,
        drawn_by=actor.name or actor.type,
        drawn_by_unit=actor.unit,
        drawn_at=utcnow(),
    )
    sample.items = [
        AuditSampleItem(
            audit_seq=seq,
            flags=audit_flags.flags_for(_facts(events[seq]), profile.audit_review, profile.zone, population.counts),
        )
        for seq in chosen
    ]
    session.add(sample)
    session.flush()
    audit.record(
        session,
        audit.Event(
            "audit.sample",
            actor,
            target=f"audit_sample:{sample.id}",
            details={
                **_request_details(request),
                "last_seq": last_seq,
                "population": sample.population,
                "result_count": len(chosen),
                "items": chosen,
            },
        ),
    )
    return sample


def _refuse(
    sessions: sessionmaker[Session],
    event_type: str,
    actor: audit.Actor,
    target: str,
    reason: str,
    details: dict[str, Any] | None = None,
) -> None:
    audit.record_alone(
        sessions,
        audit.Event(event_type, actor, outcome="refused", target=target, details={"reason": reason, **(details or {})}),
    )


# ---- reading samples -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleView:
    sample: AuditSample
    events: dict[int, AuditEvent]  # audit_seq -> the sampled event

    @property
    def assessed(self) -> int:
        return sum(1 for item in self.sample.items if item.assessment)

    @property
    def complete(self) -> bool:
        return self.assessed == len(self.sample.items)

    @property
    def signed_off(self) -> bool:
        return self.sample.signed_off_at is not None


def list_samples(session: Session, limit: int = 200) -> list[AuditSample]:
    """Samples, newest first (their periods and status only: no ALPR data)."""
    query = select(AuditSample).options(selectinload(AuditSample.items)).order_by(AuditSample.id.desc()).limit(limit)
    return list(session.scalars(query))


def load_sample(session: Session, sample_id: int) -> SampleView:
    """A sample with its events, not audited: callers audit what they show."""
    sample = session.scalar(
        select(AuditSample).where(AuditSample.id == sample_id).options(selectinload(AuditSample.items))
    )
    if sample is None:
        raise AuditReviewError("there is no such audit sample", status=404)
    seqs = [item.audit_seq for item in sample.items]
    events = {e.seq: e for e in session.scalars(select(AuditEvent).where(AuditEvent.seq.in_(seqs)))} if seqs else {}
    return SampleView(sample=sample, events=events)


def get_sample(session: Session, actor: audit.Actor, sample_id: int) -> SampleView:
    """A sample with the events it holds; showing them is a view of the audit trail, audited."""
    view = load_sample(session, sample_id)
    audit.record(
        session,
        audit.Event(
            "audit.view",
            actor,
            target=f"audit_sample:{sample_id}",
            details={"result_count": len(view.sample.items)},
        ),
    )
    return view


# ---- findings and sign-off -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Refusal:
    reason: str
    status: int
    event_type: str


def _finding_refusal(
    view: SampleView, item: AuditSampleItem, actor: audit.Actor, assessment: str, finding: str
) -> _Refusal | None:
    if view.signed_off:
        return _Refusal("the sample is signed off and can no longer change", 409, "audit.finding")
    if assessment not in ASSESSMENTS:
        return _Refusal(f"choose an assessment: {', '.join(ASSESSMENTS)}", 422, "audit.finding")
    if assessment != "compliant" and not finding:
        return _Refusal("describe the finding: a concern or violation needs a written finding", 422, "audit.finding")
    if len(finding) > MAX_TEXT:
        return _Refusal(f"the finding is longer than {MAX_TEXT} characters", 422, "audit.finding")
    event = view.events.get(item.audit_seq)
    if event is not None and made_by(event, actor):
        return _Refusal(
            "you made this access yourself; another auditor must assess it (independence)", 403, "access.refused"
        )
    return None


def record_finding(
    sessions: sessionmaker[Session],
    actor: audit.Actor,
    sample_id: int,
    audit_seq: int,
    assessment: str,
    finding: str = "",
) -> AuditSampleItem:
    """Assess one sampled access (compliant, concern or violation) with a written finding."""
    finding = (finding or "").strip()
    with transaction(sessions) as session:
        view = load_sample(session, sample_id)
        item = next((i for i in view.sample.items if i.audit_seq == audit_seq), None)
        if item is None:
            raise AuditReviewError("that access is not in this sample", status=404)
        refusal = _finding_refusal(view, item, actor, assessment, finding)
        if refusal is None:
            previous = item.assessment
            item.assessment, item.finding = assessment, finding or None
            item.reviewed_by, item.reviewed_at = actor.name, utcnow()
            audit.record(
                session,
                audit.Event(
                    "audit.finding",
                    actor,
                    target=f"audit_sample:{sample_id}/{audit_seq}",
                    details={"assessment": assessment, "finding": finding, "previous_assessment": previous},
                ),
            )
            return item
    _refuse(
        sessions,
        refusal.event_type,
        actor,
        f"audit_sample:{sample_id}/{audit_seq}",
        refusal.reason,
        {"action": "audit.finding", "assessment": assessment},
    )
    raise AuditReviewError(refusal.reason, status=refusal.status)


def _signoff_refusal(view: SampleView, actor: audit.Actor, conclusion: str) -> _Refusal | None:
    if view.signed_off:
        return _Refusal("the sample is already signed off", 409, "audit.signoff")
    if not view.complete:
        missing = len(view.sample.items) - view.assessed
        return _Refusal(f"{missing} sampled access(es) still need an assessment", 409, "audit.signoff")
    if not conclusion:
        return _Refusal("write the audit's conclusion before signing off", 422, "audit.signoff")
    if len(conclusion) > MAX_TEXT:
        return _Refusal(f"the conclusion is longer than {MAX_TEXT} characters", 422, "audit.signoff")
    own = [seq for seq, event in view.events.items() if made_by(event, actor)]
    if own:
        return _Refusal(
            f"you made {len(own)} of the sampled accesses yourself; another auditor must sign off (independence)",
            403,
            "access.refused",
        )
    return None


def sign_off(sessions: sessionmaker[Session], actor: audit.Actor, sample_id: int, conclusion: str) -> AuditSample:
    """Conclude the audit; from now on the sample is read-only."""
    conclusion = (conclusion or "").strip()
    with transaction(sessions) as session:
        view = load_sample(session, sample_id)
        refusal = _signoff_refusal(view, actor, conclusion)
        if refusal is None:
            sample = view.sample
            sample.conclusion = conclusion
            sample.signed_off_by, sample.signed_off_at = actor.name, utcnow()
            counts = {a: sum(1 for i in sample.items if i.assessment == a) for a in ASSESSMENTS}
            audit.record(
                session,
                audit.Event(
                    "audit.signoff",
                    actor,
                    target=f"audit_sample:{sample_id}",
                    details={"conclusion": conclusion, "assessments": counts},
                ),
            )
            return sample
    _refuse(
        sessions, refusal.event_type, actor, f"audit_sample:{sample_id}", refusal.reason, {"action": "audit.signoff"}
    )
    raise AuditReviewError(refusal.reason, status=refusal.status)


# ---- reports -------------------------------------------------------------------------------------------------
def sample_rows(view: SampleView, profile: PolicyProfile) -> Sequence[dict[str, Any]]:
    """One flat row per sampled access, for the reports."""
    zone = profile.zone
    rows = []
    for item in view.sample.items:
        event = view.events.get(item.audit_seq)
        summary = event_summary(event) if event else {}
        rows.append(
            {
                "audit_seq": item.audit_seq,
                "occurred_at_utc": event.occurred_at.isoformat() if event else "",
                "occurred_at_local": event.occurred_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if event else "",
                "event_type": event.event_type if event else "(missing from the audit trail)",
                "outcome": event.outcome if event else "",
                "user": event.actor_name or "" if event else "",
                "role": event.actor_role or "" if event else "",
                "agency": event.agency or "" if event else "",
                "unit": event.unit or "" if event else "",
                "target": event.target or "" if event else "",
                **summary,
                "flags": list(item.flags or []),
                "assessment": item.assessment or "",
                "finding": item.finding or "",
                "reviewed_by": item.reviewed_by or "",
                "reviewed_at": item.reviewed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if item.reviewed_at else "",
            }
        )
    return rows
