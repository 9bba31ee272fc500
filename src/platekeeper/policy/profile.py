"""The agency policy profile: retention, purposes, roles, sharing, time zone.

A profile is YAML validated with unknown keys refused, so a typo in a policy
setting is an error, never a silently ignored line. Validation errors name the
line and column of the offending key.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from platekeeper.policy.permissions import ALL_PERMISSIONS, grant_problem

BUILTIN_PROFILES = {
    "san-jose-dup": "san-jose-dup.yaml",
    "santa-clara-pd": "santa-clara-pd.yaml",
    "san-jose-parking": "san-jose-parking.yaml",
}
KEY_PATTERN = r"^[a-z][a-z0-9_]*$"
MIN_AUDIT_RETENTION_DAYS = 730  # AUD-2: audit trails are kept at least two years


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Agency(_Strict):
    name: str = Field(min_length=1)
    kind: Literal["law_enforcement", "parking"]
    state: Literal["CA"] = "CA"


class Retention(_Strict):
    """Days each class of data is kept before purge (RET-1)."""

    reads_days: int = Field(ge=1)
    images_days: int = Field(ge=1)
    hits_days: int = Field(ge=1)
    audit_days: int = Field(ge=MIN_AUDIT_RETENTION_DAYS)
    login_log_days: int = Field(ge=MIN_AUDIT_RETENTION_DAYS)

    @model_validator(mode="after")
    def _images_not_longer_than_reads(self) -> Retention:
        if self.images_days > self.reads_days:
            raise ValueError("images_days may not exceed reads_days: an image outliving its read is orphaned")
        return self


class Purpose(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    label: str = Field(min_length=1)
    source: str | None = None


class ProhibitedPurpose(Purpose):
    # Phrases that mark free text (a search's stated reason) as this purpose.
    screening_terms: tuple[str, ...] = ()
    draft_only: bool = False  # from the earlier San José draft (SJd 3.5-3.6); active only when opted in


class Purposes(_Strict):
    authorised: tuple[Purpose, ...] = Field(min_length=1)
    prohibited: tuple[ProhibitedPurpose, ...] = Field(min_length=1)
    include_draft_prohibitions: bool = True

    @model_validator(mode="after")
    def _unique_keys(self) -> Purposes:
        keys = [p.key for p in self.authorised] + [p.key for p in self.prohibited]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"purpose keys must be unique across authorised and prohibited: {dupes}")
        return self

    def active_prohibitions(self) -> tuple[ProhibitedPurpose, ...]:
        return tuple(p for p in self.prohibited if self.include_draft_prohibitions or not p.draft_only)


class Role(_Strict):
    key: str = Field(pattern=KEY_PATTERN)
    label: str = Field(min_length=1)
    law_enforcement: bool
    sworn: bool = False  # sworn members carry a badge number on their account (ACC-4)
    permissions: tuple[str, ...] = ()

    @field_validator("permissions")
    @classmethod
    def _known_permissions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - ALL_PERMISSIONS)
        if unknown:
            raise ValueError(f"unknown permission(s) {unknown}; known: {sorted(ALL_PERMISSIONS)}")
        return value

    @model_validator(mode="after")
    def _police_data_only_for_law_enforcement(self) -> Role:
        problems = [p for p in (grant_problem(k, self.law_enforcement) for k in self.permissions) if p]
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Sharing(_Strict):
    # SHR-5: direct database access by agreement (SJ 10) or confirm-a-read-on-request (SJd 10)
    mode: Literal["direct_access", "confirm_on_request", "none"]


class Training(_Strict):
    validity_days: int = Field(ge=1)
    topics: tuple[str, ...] = Field(min_length=1)


class Accounts(_Strict):
    idle_disable_days: int = Field(ge=1)
    lockout_threshold: int = Field(ge=1, le=20)
    lockout_minutes: int = Field(ge=1)
    second_factor_for_law_enforcement: bool = True


class AuditReview(_Strict):
    """What the audit sample flags for an auditor's attention (AUD-3)."""

    bulk_result_threshold: int = Field(default=100, ge=1)  # a search returning more rows than this is "bulk"
    off_hours_start: dt.time = dt.time(19, 0)  # local time; accesses between start and end are "off-hours"
    off_hours_end: dt.time = dt.time(7, 0)
    repeated_plate_threshold: int = Field(default=3, ge=2)  # the same user querying a plate this often in the period
    default_sample_size: int = Field(default=25, ge=1, le=1000)


class PolicyProfile(_Strict):
    name: str = Field(min_length=1)
    source: str = Field(min_length=1)
    effective_date: dt.date
    agency: Agency
    time_zone: str
    retention: Retention
    purposes: Purposes
    roles: tuple[Role, ...] = Field(min_length=1)
    sharing: Sharing
    training: Training
    accounts: Accounts
    audit_review: AuditReview = AuditReview()

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like America/Los_Angeles)") from exc
        return value

    @model_validator(mode="after")
    def _unique_roles(self) -> PolicyProfile:
        keys = [r.key for r in self.roles]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"role keys must be unique: {dupes}")
        if not any("users.manage" in r.permissions for r in self.roles):
            raise ValueError("at least one role must hold 'users.manage', or nobody could administer the system")
        if not any("users.approve" in r.permissions for r in self.roles):
            raise ValueError("at least one role must hold 'users.approve', or no account could ever be activated")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def role(self, key: str) -> Role | None:
        return next((r for r in self.roles if r.key == key), None)

    def role_keys(self) -> list[str]:
        return [r.key for r in self.roles]


@dataclass(frozen=True)
class ProfileProblem:
    line: int | None  # 1-based
    column: int | None
    where: str
    message: str

    def __str__(self) -> str:
        at = f"line {self.line}, column {self.column}" if self.line else "file"
        return f"{at}: {self.where}: {self.message}" if self.where else f"{at}: {self.message}"


class ProfileError(ValueError):
    def __init__(self, source: str, problems: list[ProfileProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"invalid policy profile {source}:\n" + "\n".join(f"  {p}" for p in problems))


def _position(doc: Any, loc: tuple[int | str, ...]) -> tuple[int | None, int | None]:
    """Line/column (1-based) of the deepest node of ``loc`` that exists in the YAML."""
    node, line, col = doc, None, None
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line, col = node.lc.key(part)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line, col = node.lc.item(part)
            node = node[part]
        else:
            break
    return (line + 1, col + 1) if line is not None and col is not None else (None, None)


def _problems(doc: Any, exc: ValidationError) -> list[ProfileProblem]:
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        line, col = _position(doc, loc)
        where = ".".join(str(p) for p in loc)
        message = "unknown key (not allowed in a policy profile)" if err["type"] == "extra_forbidden" else err["msg"]
        problems.append(ProfileProblem(line, col, where, re.sub(r"^Value error, ", "", message)))
    return problems


def parse_profile(text: str, source: str = "<profile>") -> PolicyProfile:
    yaml = YAML(typ="rt")
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise ProfileError(source, [ProfileProblem(line, col, "", f"YAML syntax: {exc.problem}")]) from exc
    if not isinstance(doc, CommentedMap):
        raise ProfileError(source, [ProfileProblem(1, 1, "", "a policy profile must be a YAML mapping")])
    try:
        return PolicyProfile.model_validate(_plain(doc))
    except ValidationError as exc:
        raise ProfileError(source, _problems(doc, exc)) from exc


def _plain(node: Any) -> Any:
    """ruamel's round-trip containers to plain dicts/lists, so pydantic sees ordinary data."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def load_profile(name_or_path: str) -> PolicyProfile:
    """A built-in profile by name (``san-jose-dup``) or a YAML file by path."""
    if name_or_path in BUILTIN_PROFILES:
        text = resources.files("platekeeper.policy.profiles").joinpath(BUILTIN_PROFILES[name_or_path]).read_text()
        return parse_profile(text, source=name_or_path)
    path = Path(name_or_path)
    if not path.is_file():
        known = ", ".join(BUILTIN_PROFILES)
        raise ProfileError(
            name_or_path, [ProfileProblem(None, None, "", f"no such file or built-in profile (built-in: {known})")]
        )
    return parse_profile(path.read_text(encoding="utf-8"), source=str(path))
