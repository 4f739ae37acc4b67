"""Secret key and token derivation.

A token is HMAC-SHA256(secret key, ``username:salt``) cut to 32 hex characters. Only its SHA-256
is stored, yet anyone holding the secret key file (the operator) can print a user's token again;
rotating a token means choosing a new salt.
"""

from __future__ import annotations

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
