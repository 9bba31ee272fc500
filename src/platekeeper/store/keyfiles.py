"""Random keys kept as base64 files in the data directory (the embedded default)."""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path


def parse_key(encoded: str, what: str, size: int = 32) -> bytes:
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except ValueError as exc:
        raise ValueError(f"{what} must be base64 of {size} random bytes") from exc
    if len(key) != size:
        raise ValueError(f"{what} must be {size} bytes, got {len(key)}")
    return key


def load_or_create_key_file(path: Path, what: str, size: int = 32) -> tuple[bytes, bool]:
    """The key in ``path``, or a new one written there readable by the owner only. True if new."""
    if path.exists():
        return parse_key(path.read_text(encoding="ascii"), what, size), False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(size)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(key).decode("ascii"))
    return key, True
