"""Argon2id password hashing (DESIGN §3 rule 8) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from yiwang.core.errors import Invalid

# OWASP's Argon2id floor (m=19 MiB, t=2, p=1): ~20 ms a hash here, so a login stays quick and a
# guessed-password attack stays expensive.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)

# Verifying against this keeps a login for an unknown user as slow as one for a known user.
_DUMMY_HASH = _hasher.hash("yiwang-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def check_password_policy(password: str, field: str = "password") -> None:
    """At least 8 characters from at least three of: lower, upper, digits, symbols (等保三级 practice)."""
    if len(password) < 8:
        raise Invalid.on(field, "密码至少 8 位")
    if len(password) > 128:
        raise Invalid.on(field, "密码不能超过 128 位")
    classes = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if classes < 3:
        raise Invalid.on(field, "密码需包含大写字母、小写字母、数字、符号中的至少三类")
