"""Throttling of login, second-factor and registration attempts, kept in the database so every worker
sees the same counts (no module-level memory: DESIGN §6).

Each counter is a fixed window: `failures` counted since `window_start`; reaching the limit blocks the
key until `blocked_until`. The scopes:

- ``ip``: failures from one source address, whatever account was tried (password spraying).
- ``pair``: failures for one username from one source address. This is the lock-out: five wrong
  passwords lock that username *from that source* only, so a stranger typing a citizen's ID cannot
  lock the citizen out of their own account.
- ``account``: failures for one username from all sources (a distributed guesser). Reaching it slows
  the account down for sources that have never signed in to it; a source the person signed in from
  before keeps its own pair allowance.
- ``reg-ip`` / ``reg-id``: registration attempts per source and per citizen ID typed (counted for any
  ID, existing or not, so a refusal tells nothing about the ID).

A username is counted the same whether an account exists or not: the answers cannot tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yiwang.core import clock
from yiwang.identity.models import LoginThrottle
from yiwang.identity.service.tokens import digest
from yiwang.settings import get_settings


@dataclass(frozen=True)
class Limit:
    max_failures: int
    window: timedelta
    block: timedelta


def limits() -> dict[str, Limit]:
    st = get_settings()
    return {
        "ip": Limit(st.login_ip_max_failures, timedelta(minutes=15), timedelta(minutes=15)),
        "pair": Limit(
            st.login_max_failures,
            timedelta(minutes=st.login_lock_minutes),
            timedelta(minutes=st.login_lock_minutes),
        ),
        "account": Limit(st.login_account_max_failures, timedelta(hours=1), timedelta(minutes=15)),
        "reg-ip": Limit(st.register_ip_max_attempts, timedelta(hours=1), timedelta(hours=1)),
        "reg-id": Limit(st.register_id_max_attempts, timedelta(hours=1), timedelta(hours=1)),
    }


def normalise_username(username: str) -> str:
    username = (username or "").strip()
    if len(username) == 18 and username[:17].isdigit():
        username = username.upper()  # citizen IDs: "x" and "X" are the same check digit
    return username


def subject_hash(username: str) -> str:
    return digest("user:" + normalise_username(username))


def _key(scope: str, username: str = "", ip: str | None = None) -> tuple[str, str]:
    """(key_hash, subject_hash) of a counter."""
    user = normalise_username(username)
    source = ip or "-"
    raw = {"ip": f"ip:{source}", "reg-ip": f"ip:{source}", "pair": f"pair:{user}|{source}"}.get(
        scope, f"user:{user}"
    )
    return digest(f"{scope}:{raw}"), subject_hash(user) if user else ""


def blocked_until(
    session: Session, scope: str, *, username: str = "", ip: str | None = None
) -> datetime | None:
    """When the counter's block ends, or None if it does not block now."""
    key_hash, _ = _key(scope, username, ip)
    row = session.scalars(
        select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key_hash == key_hash)
    ).first()
    if row is None or row.blocked_until is None or row.blocked_until <= clock.now():
        return None
    return row.blocked_until


def failures(session: Session, scope: str, *, username: str = "", ip: str | None = None) -> int:
    """Failures counted in the current window."""
    key_hash, _ = _key(scope, username, ip)
    row = session.scalars(
        select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key_hash == key_hash)
    ).first()
    if row is None or row.window_start + limits()[scope].window <= clock.now():
        return 0
    return row.failures


def count(
    session: Session, scope: str, *, username: str = "", ip: str | None = None
) -> tuple[int, datetime | None]:
    """Count one failure (or attempt). Returns (failures in the window, blocked until or None).

    The increment is one UPDATE, so concurrent workers do not lose counts; the first failure of a key
    inserts its row inside a savepoint, and a racing insert falls back to the update."""
    limit = limits()[scope]
    key_hash, subj = _key(scope, username, ip)
    now = clock.now()
    for _ in range(2):
        row = session.scalars(
            select(LoginThrottle)
            .where(LoginThrottle.scope == scope, LoginThrottle.key_hash == key_hash)
            .execution_options(populate_existing=True)
        ).first()
        if row is None:
            try:
                with session.begin_nested():
                    session.add(
                        LoginThrottle(
                            scope=scope, key_hash=key_hash, subject_hash=subj, failures=0, window_start=now
                        )
                    )
            except IntegrityError:
                continue
            continue
        if row.window_start + limit.window <= now:
            # A new window. The reset is conditional on the old window, so two workers do not both reset.
            session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.id == row.id, LoginThrottle.window_start == row.window_start)
                .values(failures=0, window_start=now)
                .execution_options(synchronize_session=False)
            )
        session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.id == row.id)
            .values(failures=LoginThrottle.failures + 1)
            .execution_options(synchronize_session=False)
        )
        session.refresh(row)
        until = row.blocked_until if row.blocked_until and row.blocked_until > now else None
        if row.failures >= limit.max_failures and until is None:
            until = now + limit.block
            row.blocked_until = until
            # The next window starts after the block: the count begins again from zero then.
            row.failures = 0
            row.window_start = until
            session.flush()
            return limit.max_failures, until
        return row.failures, until
    raise RuntimeError("throttle row vanished twice")  # pragma: no cover - a row is never deleted mid-count


def clear(session: Session, scope: str, *, username: str = "", ip: str | None = None) -> None:
    key_hash, _ = _key(scope, username, ip)
    session.execute(
        delete(LoginThrottle)
        .where(LoginThrottle.scope == scope, LoginThrottle.key_hash == key_hash)
        .execution_options(synchronize_session=False)
    )


def clear_username(session: Session, username: str) -> int:
    """Lift every lock and count of a username, from every source (an administrator's unlock)."""
    result = session.execute(
        delete(LoginThrottle)
        .where(
            LoginThrottle.subject_hash == subject_hash(username), LoginThrottle.scope.in_(("pair", "account"))
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_stale(session: Session) -> int:
    """Delete counters whose window and block have both ended a day ago (kept small by the login path)."""
    cutoff = clock.now() - timedelta(days=1)
    result = session.execute(
        delete(LoginThrottle)
        .where(
            LoginThrottle.window_start < cutoff,
            (LoginThrottle.blocked_until.is_(None)) | (LoginThrottle.blocked_until < cutoff),
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def retry_after(until: datetime) -> int:
    return max(1, int((until - clock.now()).total_seconds()) + 1)


def local_time(until: datetime) -> str:
    return clock.to_local(until).strftime("%H:%M")
