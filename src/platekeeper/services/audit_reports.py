"""Audit sample reports (AUD-3): CSV and PDF, with the findings, the sign-off and the chain's status.

The PDF uses the core fonts only (nothing to install or download); characters they cannot show are
replaced — accents kept where Latin-1 has them, everything else as ``?`` — so no text crashes a report.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlalchemy.orm import Session

from platekeeper.policy.audit_flags import FLAGS
from platekeeper.policy.profile import PolicyProfile
from platekeeper.services import audit
from platekeeper.services.audit_review import AuditReviewError, SampleView, load_sample, sample_rows

COLUMNS = (
    "audit_seq",
    "occurred_at_utc",
    "occurred_at_local",
    "event_type",
    "outcome",
    "user",
    "role",
    "agency",
    "unit",
    "target",
    "purpose",
    "case_number",
    "no_case_reason",
    "presumed_crime",
    "plates",
    "criteria",
    "result_count",
    "reason",
    "flags",
    "assessment",
    "finding",
    "reviewed_by",
    "reviewed_at",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN = {"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "...", "•": "*", "\u00a0": " "}


def chain_status(chain: audit.VerifyResult) -> str:
    if chain.ok:
        return f"intact: {chain.rows} events verified, hash chain unbroken"
    return f"NOT intact: {len(chain.problems)} problem(s) in {chain.rows} events: " + "; ".join(chain.problems[:5])


def _header(view: SampleView, profile: PolicyProfile, chain: audit.VerifyResult) -> list[tuple[str, str]]:
    sample, zone = view.sample, profile.zone

    def local(value: Any) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z") if value else ""

    return [
        ("Audit sample", str(sample.id)),
        ("Agency", profile.agency.name),
        ("Period start", local(sample.period_start)),
        ("Period end (exclusive)", local(sample.period_end)),
        ("Seed", sample.seed),
        ("Sample size requested", str(sample.requested_size)),
        ("Accesses in the period", str(sample.population)),
        ("Drawn below audit event", str(sample.last_seq)),
        ("Drawn by", f"{sample.drawn_by} ({sample.drawn_by_unit or 'no unit'}) at {local(sample.drawn_at)}"),
        ("Assessed", f"{view.assessed} of {len(sample.items)}"),
        (
            "Signed off",
            f"by {sample.signed_off_by} at {local(sample.signed_off_at)}" if sample.signed_off_at else "not yet",
        ),
        ("Conclusion", sample.conclusion or ""),
        ("Audit chain", chain_status(chain)),
    ]


def _cell(value: Any) -> str:
    """Text for a CSV cell; a leading formula character is neutralised (spreadsheet injection)."""
    if value is None:
        return ""
    if isinstance(value, list):
        text = "; ".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False) if value else ""
    else:
        text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def sample_csv(view: SampleView, profile: PolicyProfile, chain: audit.VerifyResult) -> bytes:
    """Key/value lines about the sample, an empty line, then one row per sampled access."""
    out = io.StringIO()
    writer = csv.writer(out)
    for key, value in _header(view, profile, chain):
        writer.writerow([key, _cell(value)])
    writer.writerow([])
    writer.writerow(COLUMNS)
    for row in sample_rows(view, profile):
        writer.writerow([_cell(row.get(column)) for column in COLUMNS])
    return out.getvalue().encode("utf-8")


def latin1(text: str) -> str:
    """What the PDF core fonts can show: Latin-1 kept, common punctuation simplified, the rest as '?'."""
    out = []
    for char in text:
        char = _PLAIN.get(char, char)
        if len(char) == 1 and ord(char) < 256:
            out.append(char)
            continue
        decomposed = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
        out.append(decomposed if decomposed and decomposed.isprintable() else "?")
    return "".join(out)


class _Report(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="C")


def _line(pdf: FPDF, text: str, size: float = 9.5, style: str = "", height: float = 5.0) -> None:
    pdf.set_font("Helvetica", style=style, size=size)
    pdf.multi_cell(0, height, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _item_lines(row: dict[str, Any]) -> list[str]:
    lines = [
        f"{row['occurred_at_local']}   {row['event_type']}   outcome: {row['outcome']}",
        f"User: {row['user']} ({row['role']}), {row['agency']} / {row['unit'] or 'no unit'}   Target: {row['target']}",
    ]
    purpose = (
        f"Purpose: {row.get('purpose') or '-'}   Case: {row.get('case_number') or row.get('no_case_reason') or '-'}"
    )
    lines.append(f"{purpose}   Presumed crime: {row.get('presumed_crime') or '-'}")
    data = []
    if row.get("plates"):
        data.append("plates " + ", ".join(row["plates"][:20]) + (" ..." if len(row["plates"]) > 20 else ""))
    if row.get("criteria"):
        data.append("criteria " + json.dumps(row["criteria"], sort_keys=True, ensure_ascii=False))
    if row.get("result_count") is not None:
        data.append(f"results {row['result_count']}")
    if row.get("reason"):
        data.append(f"reason: {row['reason']}")
    lines.append("Data: " + ("; ".join(data) if data else "-"))
    flags = [f"{flag} ({FLAGS.get(flag, '')})" for flag in row["flags"]]
    lines.append("Flags: " + (", ".join(flags) if flags else "none"))
    return lines


def sample_pdf(view: SampleView, profile: PolicyProfile, chain: audit.VerifyResult) -> bytes:
    pdf = _Report(orientation="portrait", unit="mm", format="Letter")
    pdf.set_title(f"Audit sample {view.sample.id}")
    pdf.set_subject(f"platekeeper audit sample {view.sample.id}, {profile.agency.name}")
    pdf.set_creator("platekeeper")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    _line(pdf, f"Audit sample {view.sample.id}", size=16, style="B", height=9)
    _line(pdf, f"{profile.agency.name}: random audit of accesses to ALPR data", size=10)
    pdf.ln(2)
    for key, value in _header(view, profile, chain):
        _line(pdf, f"{key}: {value}", style="B" if key == "Audit chain" and not chain.ok else "")
    _items(pdf, sample_rows(view, profile))
    return bytes(pdf.output())


def _items(pdf: FPDF, rows: Sequence[dict[str, Any]]) -> None:
    pdf.ln(3)
    _line(pdf, f"Sampled accesses ({len(rows)})", size=12, style="B", height=7)
    if not rows:
        _line(pdf, "There were no accesses in the period.")
    for row in rows:
        pdf.ln(2)
        _line(pdf, f"Audit event #{row['audit_seq']}", size=10.5, style="B", height=6)
        for text in _item_lines(row):
            _line(pdf, text)
        verdict = row["assessment"].upper() if row["assessment"] else "NOT ASSESSED"
        by = f" (by {row['reviewed_by']}, {row['reviewed_at']})" if row["reviewed_by"] else ""
        _line(pdf, f"Assessment: {verdict}{by}", style="B")
        if row["finding"]:
            _line(pdf, f"Finding: {row['finding']}")


FORMATS: dict[str, Callable[[SampleView, PolicyProfile, audit.VerifyResult], bytes]] = {
    "csv": sample_csv,
    "pdf": sample_pdf,
}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


def export_sample(
    session: Session,
    profile: PolicyProfile,
    actor: audit.Actor,
    sample_id: int,
    fmt: str,
    chain: audit.VerifyResult,
) -> bytes:
    """The sample's report as ``csv`` or ``pdf``, audited; ``chain`` is a fresh ``audit.verify`` result.

    Verify before opening ``session``'s transaction: on SQLite a second session would wait for it.
    """
    if fmt not in FORMATS:
        raise AuditReviewError(f"unknown report format {fmt!r} (csv or pdf)")
    view = load_sample(session, sample_id)
    data = FORMATS[fmt](view, profile, chain)
    audit.record(
        session,
        audit.Event(
            "audit.export",
            actor,
            target=f"audit_sample:{sample_id}",
            details={"format": fmt, "result_count": len(view.sample.items), "chain_ok": chain.ok, "bytes": len(data)},
        ),
    )
    return data
