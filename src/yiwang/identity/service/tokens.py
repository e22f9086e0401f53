"""Opaque secrets handed to browsers and clients. Only their SM3 hashes are stored."""

from __future__ import annotations

import secrets

from yiwang.core.crypto import sm3_hex


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(value: str) -> str:
    return sm3_hex(value.encode())
