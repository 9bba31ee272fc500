"""Time-ordered UUIDs (RFC 9562 version 7) for read ids: Python 3.11's ``uuid`` module has no ``uuid7``.

A read's public ``uid`` is unique-indexed. With random (version 4) UUIDs every
insert lands on a random leaf page of that index, so a large import dirties the
whole index; version 7 puts the millisecond time first, so new ids append at the
index's right edge like the sequence ids do. The 74 random bits keep them
unguessable enough for public identifiers, and they are still valid UUIDs.
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7(unix_ms: int | None = None) -> uuid.UUID:
    """A version 7 UUID: 48 bits of Unix time in milliseconds, then 74 random bits."""
    ms = time.time_ns() // 1_000_000 if unix_ms is None else unix_ms
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = rand >> 68  # 12 bits
    rand_b = rand & ((1 << 62) - 1)  # 62 bits
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def new_uid() -> str:
    return str(uuid7())
