"""Secret key and token derivation.

A token is HMAC-SHA256(secret key, ``username:salt``) cut to 32 hex characters. Only its SHA-256
is stored, yet anyone holding the secret key file (the operator) can print a user's token again;
rotating a token means choosing a new salt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

TOKEN_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def load_or_create_secret_key(path: Path) -> bytes:
    """Read the key file, creating it (mode 0600) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key_hex = secrets.token_hex(32)
        # O_EXCL: when two processes race on first start, the loser reads the winner's key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(key_hex + "\n")
    text = path.read_text().strip()
    if not text:
        raise RuntimeError(f"secret key file {path} is empty")
    return bytes.fromhex(text)


def new_token_salt() -> str:
    return secrets.token_hex(8)


def derive_token(secret_key: bytes, username: str, salt: str) -> str:
    digest = hmac.new(secret_key, f"{username}:{salt}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(value: str) -> bool:
    return bool(TOKEN_PATTERN.match(value))


# ---------------------------------------------------------------------------------------------
# Secrets at rest (volume credentials)

_BOX_VERSION = "v1"
_NONCE_BYTES = 12


class SecretBoxError(Exception):
    """A stored secret could not be opened (another key, or altered data)."""


class SecretBox:
    """Encrypts small secrets (volume credentials) for the database with AES-256-GCM.

    The key is derived from the platform's secret key with HKDF-SHA256 for this purpose only, so
    the token key and the encryption key never coincide. ``context`` (e.g. the volume's own
    random id) is bound to the ciphertext as associated data: a secret copied onto another row
    does not open there. Output: ``v1:<base64(nonce + ciphertext and tag)>``.
    """

    def __init__(self, secret_key: bytes, purpose: str = "volume credentials") -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=f"sevenbridges-local {purpose} {_BOX_VERSION}".encode(),
        ).derive(secret_key)
        self._aead = AESGCM(derived)

    def __repr__(self) -> str:
        return "<SecretBox>"

    def seal(self, plaintext: bytes, context: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, context.encode())
        return f"{_BOX_VERSION}:" + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: str, context: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        version, _, payload = sealed.partition(":")
        if version != _BOX_VERSION:
            raise SecretBoxError(f"unknown secret format {version!r}")
        try:
            raw = base64.b64decode(payload.encode("ascii"), validate=True)
            return self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        except (InvalidTag, ValueError) as exc:
            raise SecretBoxError("the secret does not open with this platform's key") from exc
