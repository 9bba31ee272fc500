"""What a role may do. Every route names one permission; a role holds a set of them.

Deny by default: a permission nobody was given is held by nobody, and a route
without a declared permission makes the app refuse to start.
"""

from __future__ import annotations

PERMISSIONS: dict[str, str] = {
    "reads.view": "see police ALPR reads (plate, time, place)",
    "images.view": "see plate crops and full frames of reads",
    "parking_reads.view": "see parking ALPR reads",
    "cameras.view": "see the camera inventory",
    "cameras.manage": "add cameras, masks, attestations and camera API keys",
    "users.manage": "create and administer user accounts",
    "audit.view": "read the audit trail",
}
ALL_PERMISSIONS = frozenset(PERMISSIONS)


def allowed(role_permissions: frozenset[str] | tuple[str, ...], permission: str) -> bool:
    """True only when the role explicitly holds the permission."""
    if permission not in ALL_PERMISSIONS:
        raise KeyError(f"undeclared permission {permission!r}")
    return permission in role_permissions
