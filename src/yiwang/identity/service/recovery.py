"""Recovery codes (恢复码): ten single-use second-factor codes made when TOTP is set up, for the day
the phone is lost. Shown once; only a keyed SM3 digest (HMAC under the master key, bound to the
account) is stored, so a copy of the database alone cannot be searched for them."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.crypto import hmac_sm3
from yiwang.core.errors import Invalid
from yiwang.core.security import Actor, require_authenticated
from yiwang.identity.models import RecoveryCode
from yiwang.identity.service.accounts import get_account
from yiwang.identity.service.passwords import verify_password
from yiwang.settings import get_settings

CODES_PER_SET = 10
# No look-alikes (0/o, 1/l/i): read off paper and typed on a phone.
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_LENGTH = 10  # 31^10 ≈ 2^49.5 per code


def _normalise(code: str) -> str:
    return "".join(c for c in (code or "").lower() if c.isalnum())


def looks_like_recovery_code(code: str) -> bool:
    """Whether `code` has the form of a recovery code (xxxxx-xxxxx), as opposed to a 6-digit TOTP."""
    norm = _normalise(code)
    return len(norm) == _LENGTH and all(c in _ALPHABET for c in norm)


def _digest(account_id: int, code: str) -> str:
    key = get_settings().resolved_master_key()
    return hmac_sm3(key, f"identity.recovery:{account_id}:{_normalise(code)}".encode()).hex()


def generate_recovery_codes(session: Session, account_id: int) -> list[str]:
    """A new set of codes for the account; every earlier code stops working."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    now = clock.now()
    codes = []
    for _ in range(CODES_PER_SET):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(account_id=account_id, code_hash=_digest(account_id, raw), created_at=now))
    session.flush()
    return codes


def use_recovery_code(session: Session, account_id: int, code: str) -> bool:
    """Spend one code. The claim is one conditional UPDATE: of two concurrent uses exactly one wins."""
    if not looks_like_recovery_code(code):
        return False
    claimed = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.account_id == account_id,
            RecoveryCode.code_hash == _digest(account_id, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def recovery_codes_left(session: Session, account_id: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.account_id == account_id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def drop_recovery_codes(session: Session, account_id: int) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))


def regenerate_recovery_codes(session: Session, actor: Actor, password: str) -> list[str]:
    """A fresh set from 个人中心 (the old set stops working); the current password is asked again."""
    require_authenticated(actor)
    account = get_account(session, actor.account_id or 0)
    if not account.totp_enabled:
        raise Invalid.on("password", "请先开启双因素认证，恢复码随之生成")
    if not verify_password(account.password_hash, password or ""):
        raise Invalid.on("password", "密码不正确")
    codes = generate_recovery_codes(session, account.id)
    audit.append(
        session, actor, "identity.recovery_codes.regenerate", object_type="account", object_id=str(account.id)
    )
    return codes
