"""What a role may do. Every route names the permissions that admit it; a role holds a set of them.

Deny by default: a permission nobody was given is held by nobody, and a route
without a declared access rule makes the app refuse to start.

Each permission belongs to a data class. Police data (reads, images, hot lists,
alerts) may only ever be granted to law-enforcement roles: parking roles never
see police reads or hot lists (ACC-5, PRK), whatever an administrator clicks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    key: str
    description: str
    police_data: bool  # grants sight of police ALPR data: law-enforcement roles only


_PERMISSIONS = (
    Permission("reads.view", "search and see police ALPR reads (plate, time, place), with a stated purpose", True),
    Permission("images.view", "see plate crops and full frames of the reads the role may see", False),
    Permission("reads.export", "export reads (CSV, evidence packages), with a stated purpose", True),
    Permission("reads.locations", "see read locations with plates withheld, for reporting (REP-2)", False),
    Permission("parking_reads.view", "see parking ALPR reads", False),
    Permission("hotlists.view", "see hot lists, their entries and reasons", True),
    Permission("hotlists.edit", "add, change and remove hot-list entries", True),
    Permission("hotlists.approve", "approve hot-list entries written by someone else", True),
    Permission("hotlists.manage", "configure external hot lists and their synchronisation", True),
    Permission("alerts.view", "receive live hot-list alerts", True),
    Permission("alerts.verify", "record verification and disposition of an alert", True),
    Permission("cameras.view", "see the camera inventory", False),
    Permission("cameras.manage", "add cameras, masks, attestations and API keys for cameras and edge units", False),
    Permission("users.manage", "create and administer user accounts, role permissions and training records", False),
    Permission("users.approve", "approve another user's account for activation (supervisor)", False),
    Permission("logins.view", "see the log of successful and failed sign-ins", False),
    Permission("audit.view", "read the audit trail", False),
    Permission("audit.review", "draw audit samples, record findings and sign audits off", False),
)
PERMISSIONS: dict[str, Permission] = {p.key: p for p in _PERMISSIONS}
ALL_PERMISSIONS = frozenset(PERMISSIONS)
POLICE_DATA_PERMISSIONS = frozenset(p.key for p in _PERMISSIONS if p.police_data)


def allowed(role_permissions: frozenset[str] | tuple[str, ...], permission: str) -> bool:
    """True only when the role explicitly holds the permission."""
    if permission not in ALL_PERMISSIONS:
        raise KeyError(f"undeclared permission {permission!r}")
    return permission in role_permissions


def grant_problem(permission: str, law_enforcement: bool) -> str | None:
    """Why a role may never hold ``permission``, or None when it may."""
    if permission not in ALL_PERMISSIONS:
        return f"unknown permission {permission!r}"
    if PERMISSIONS[permission].police_data and not law_enforcement:
        return f"{permission!r} shows police ALPR data and may only be given to law-enforcement roles"
    return None
