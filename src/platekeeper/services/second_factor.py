"""TOTP second factor (ACC-2): enrolment, verification without replay, the secret encrypted at rest.

The shared secret is encrypted with a key derived from the master key, so a
copy of the database alone does not let anyone mint codes.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets

import pyotp
import segno
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

STEP_SECONDS = 30
ACCEPTED_DRIFT_STEPS = 1  # one step either side: a phone clock 30 s off still works
CODE_DIGITS = 6


class SecondFactorError(ValueError):
    pass


def field_key(master_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"platekeeper:totp-secret").derive(master_key)


def new_secret() -> str:
    return pyotp.random_base32()


def encrypt_secret(key: bytes, secret: str) -> str:
    nonce = secrets.token_bytes(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, secret.encode(), b"totp")).decode("ascii")


def decrypt_secret(key: bytes, blob: str) -> str:
    raw = base64.b64decode(blob)
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], b"totp").decode()
    except InvalidTag as exc:
        raise SecondFactorError("the second-factor secret cannot be decrypted with this master key") from exc


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """An SVG QR code as a data: URI, so the page needs no image route and no CDN."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def code_at(secret: str, when: dt.datetime) -> str:
    """The code valid at ``when`` (for enrolment checks in tests and the demo)."""
    return str(pyotp.TOTP(secret).at(when))


def matching_step(secret: str, code: str, last_step: int | None, now: dt.datetime) -> int | None:
    """The time step ``code`` belongs to, if it is valid now and newer than the last one used."""
    code = code.strip().replace(" ", "")
    if len(code) != CODE_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - ACCEPTED_DRIFT_STEPS, current + ACCEPTED_DRIFT_STEPS + 1):
        if (last_step is None or step > last_step) and secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None
