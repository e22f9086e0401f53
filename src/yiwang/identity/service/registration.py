"""Self-registration of a natural person, proved by a one-time code to the phone on record.

Two steps. `start_registration` takes the name and citizen ID and always gives the same answer ("if
they match the population registry, a code was sent to the phone registered there"), so the form is
no oracle for which names fit which IDs, or which IDs already have an account. Only when they match
and the ID has no account does a code go out (through the SMS adapter); when the ID already has an
account, the phone on record is told so instead. `confirm_registration` takes that code and the
password: a wrong code, an unmatched start and an expired one all get the same refusal.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from yiwang import registry
from yiwang.core import audit, clock
from yiwang.core.db import Database
from yiwang.core.errors import FieldError, Invalid, Problem, TooManyRequests
from yiwang.core.ids import mask_citizen_id, validate_citizen_id
from yiwang.core.security import ANONYMOUS
from yiwang.identity.models import PendingRegistration
from yiwang.identity.service import throttle
from yiwang.identity.service.accounts import find_account, register_citizen
from yiwang.identity.service.passwords import check_password_policy
from yiwang.identity.service.sms import sms_sender
from yiwang.identity.service.tokens import digest, new_secret

REGISTRATION_TTL = timedelta(minutes=10)
MAX_CODE_ATTEMPTS = 5
CODE_SENT = "若姓名和身份证号码与人口库登记一致，验证码已发送到您在人口库登记的手机，10 分钟内有效。"
BAD_CODE = "验证码不正确或已过期，请核对短信，或重新获取验证码"


@dataclass(frozen=True)
class RegistrationStarted:
    token: str
    expires_in: int
    message: str = CODE_SENT


@dataclass(frozen=True)
class Registered:
    account_id: int
    username: str
    name: str
    kind: str
    citizen_id_masked: str


def _code_digest(token: str, code: str) -> str:
    # Bound to the registration's own secret: a copy of the table alone cannot test codes.
    return digest(f"identity.register:{token}:{code}")


def start_registration(db: Database, *, citizen_id: str, name: str, ip: str | None) -> RegistrationStarted:
    cid = validate_citizen_id(citizen_id, "citizen_id").value
    name = (name or "").strip()
    if not name:
        raise Invalid.on("name", "请输入姓名")
    refusal: Problem | None = None
    with db.session() as s:
        for scope, key in (("reg-ip", {"ip": ip}), ("reg-id", {"username": cid})):
            until = throttle.blocked_until(s, scope, **key)  # type: ignore[arg-type]
            if until is not None:
                refusal = TooManyRequests(
                    detail=f"注册尝试过于频繁，请于 {throttle.local_time(until)} 后再试",
                    extra={"retry_after": throttle.retry_after(until)},
                )
                break
        if refusal is None:
            throttle.count(s, "reg-ip", ip=ip)
            throttle.count(s, "reg-id", username=cid)
            person = registry.find_person(s, cid)
            fits = (
                person is not None and person.name == name and person.status == "正常" and bool(person.phone)
            )
            registered = fits and find_account(s, cid) is not None
            code = f"{secrets.randbelow(1_000_000):06d}"
            sms = sms_sender()
            if fits and person is not None and person.phone:
                if registered:
                    sms.send(
                        s,
                        phone=person.phone,
                        purpose="register-exists",
                        body="【一网】有人正使用您的身份证号码注册一网账号，而您已注册过。"
                        "如忘记密码，请联系窗口或管理员重置。如非本人操作请忽略。",
                    )
                else:
                    sms.send(
                        s,
                        phone=person.phone,
                        purpose="register",
                        body=f"【一网】您的注册验证码是 {code}，10 分钟内有效。"
                        "请勿告诉他人。如非本人操作请忽略。",
                    )
            token = new_secret()
            now = clock.now()
            s.add(
                PendingRegistration(
                    id=digest(token),
                    citizen_id=cid,
                    matched=fits and not registered,
                    code_hash=_code_digest(token, code),
                    attempts=0,
                    created_at=now,
                    expires_at=now + REGISTRATION_TTL,
                )
            )
            audit.append(
                s,
                ANONYMOUS.with_request(ip),
                "identity.register.start",
                object_type="registration",
                subject=cid,
                detail={"code_sent": fits and not registered, "already_registered": registered},
            )
    if refusal is not None:
        raise refusal
    return RegistrationStarted(token=token, expires_in=int(REGISTRATION_TTL.total_seconds()))


def confirm_registration(db: Database, *, token: str, code: str, password: str, ip: str | None) -> Registered:
    """Create the account once the code proves the person holds the phone on record."""
    code = (code or "").strip()
    if not code:
        raise Invalid.on("code", "请输入短信验证码")
    check_password_policy(password)
    with db.session() as s:
        pending = s.get(PendingRegistration, digest(token or ""))
        if pending is None or pending.expires_at <= clock.now():
            pass
        elif not (pending.matched and hmac.compare_digest(_code_digest(token, code), pending.code_hash)):
            pending.attempts += 1
            if pending.attempts >= MAX_CODE_ATTEMPTS:
                s.delete(pending)  # five wrong codes: start again (and count against the hourly limit)
        else:
            s.delete(pending)
            person = registry.find_person(s, pending.citizen_id)
            assert person is not None
            account = register_citizen(
                s,
                ANONYMOUS.with_request(ip),
                citizen_id=pending.citizen_id,
                name=person.name,
                password=password,
            )
            return Registered(
                account_id=account.id,
                username=account.username,
                name=account.display_name,
                kind=account.kind,
                citizen_id_masked=mask_citizen_id(account.citizen_id or ""),
            )
    # Reached only on a refusal (success returned above); raised after the attempt count committed.
    raise Invalid(detail=BAD_CODE, errors=[FieldError("code", BAD_CODE)])
