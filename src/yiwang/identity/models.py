"""Unified identity (统一身份认证): organisation tree, accounts, roles, sessions, OIDC clients and keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from yiwang.core.db import Base, UTCDateTime


class OrgUnit(Base):
    """A node of the organisation tree: the five administrative levels, and departments and units.

    Regions (province → city → district → street → community) and departments (委办局) share one
    tree so that "who administers what" is a subtree test on `path`.
    """

    __tablename__ = "identity_org_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    short_name: Mapped[str] = mapped_column(String(50), default="")
    # province / city / district / street / community / department / unit
    kind: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("identity_org_unit.id"), index=True)
    # Materialised path of ids, "/1/7/42/", so subtree checks are one LIKE on an index.
    path: Mapped[str] = mapped_column(String(255), index=True, default="/")
    level: Mapped[int] = mapped_column(Integer, default=0)
    # 12-digit statistical division code for regions; the region a department belongs to otherwise.
    region_code: Mapped[str] = mapped_column(String(12), index=True, default="")
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Role(Base):
    __tablename__ = "identity_role"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(200), default="")
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class Account(Base):
    """A login: a natural person (citizen) or a civil servant (staff), always real-name bound."""

    __tablename__ = "identity_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # citizen / staff
    display_name: Mapped[str] = mapped_column(String(64))
    # Real-name binding to the population registry (A1); staff are natural persons too.
    citizen_id: Mapped[str | None] = mapped_column(String(18), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret_sealed: Mapped[str | None] = mapped_column(Text)
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set when an administrator hands out a temporary password: no session or token is issued until
    # the person has chosen their own.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    department_id: Mapped[int | None] = mapped_column(ForeignKey("identity_org_unit.id"), index=True)
    title: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StaffRole(Base):
    """A role held by a staff account, valid within one organisation unit's subtree."""

    __tablename__ = "identity_staff_role"
    __table_args__ = (UniqueConstraint("account_id", "role_code", "org_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("identity_account.id", ondelete="CASCADE"), index=True)
    role_code: Mapped[str] = mapped_column(ForeignKey("identity_role.code"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("identity_org_unit.id"), index=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    granted_by: Mapped[int | None] = mapped_column(Integer)


class EnterpriseAgent(Base):
    """An authorisation by an enterprise (through its legal representative) for a person to act for it.

    The legal representative needs no row: the legal-person registry already names them.
    """

    __tablename__ = "identity_enterprise_agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    agent_account_id: Mapped[int] = mapped_column(ForeignKey("identity_account.id"), index=True)
    granted_by_account_id: Mapped[int] = mapped_column(ForeignKey("identity_account.id"))
    scope: Mapped[str] = mapped_column(String(200), default="*")
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A browser session. Only the SM3 hash of the cookie value is stored."""

    __tablename__ = "identity_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("identity_account.id", ondelete="CASCADE"), index=True)
    on_behalf_of: Mapped[str | None] = mapped_column(String(18))
    csrf_token: Mapped[str] = mapped_column(String(64))
    # "pwd" or "pwd+otp": what the person proved, carried into id_token amr.
    auth_methods: Mapped[str] = mapped_column(String(32), default="pwd")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class PendingLogin(Base):
    """The password passed and a step still owed: the second factor (stage "otp") or, after an
    administrator's reset, a new password of the person's own (stage "password")."""

    __tablename__ = "identity_pending_login"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("identity_account.id", ondelete="CASCADE"))
    on_behalf_of: Mapped[str | None] = mapped_column(String(18))
    next_url: Mapped[str] = mapped_column(String(500), default="/")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stage: Mapped[str] = mapped_column(String(16), default="otp", server_default="otp")
    # What the person has proved so far ("pwd", "pwd+otp"), carried into the session.
    methods: Mapped[str] = mapped_column(String(32), default="pwd", server_default="pwd")
    ip: Mapped[str | None] = mapped_column(String(64))


class AccessToken(Base):
    """A bearer token (API or OIDC access/refresh). Only the SM3 hash of the token is stored."""

    __tablename__ = "identity_access_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="access")  # access / refresh / api
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("identity_account.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str | None] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(String(500), default="")
    on_behalf_of: Mapped[str | None] = mapped_column(String(18))
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OidcClient(Base):
    """A registered government system (A5): a relying party for SSO and/or a system-to-system caller."""

    __tablename__ = "identity_oidc_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    owner_unit_id: Mapped[int] = mapped_column(ForeignKey("identity_org_unit.id"), index=True)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Scopes the client may ask for; system scopes (client credentials) are granted from this too.
    allowed_scopes: Mapped[str] = mapped_column(String(500), default="openid profile")
    is_confidential: Mapped[bool] = mapped_column(Boolean, default=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A first-party system the operator vouches for: people are not asked to consent (audited).
    pre_consented: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(Integer)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AuthorizationCode(Base):
    __tablename__ = "identity_authorization_code"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("identity_account.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(500))
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    on_behalf_of: Mapped[str | None] = mapped_column(String(18))
    session_id: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    auth_methods: Mapped[str] = mapped_column(String(32), default="pwd")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SigningKey(Base):
    """An OIDC token-signing key; the private half is sealed with SM4 under the master key."""

    __tablename__ = "identity_signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    private_sealed: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class LoginThrottle(Base):
    """Failures counted per source address, per account and per (account, source), shared by every
    worker through the database. Keys are SM3 digests: no citizen ID or address is stored in clear."""

    __tablename__ = "identity_login_throttle"
    __table_args__ = (UniqueConstraint("scope", "key_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # ip / pair / account / reg-ip / reg-id
    scope: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    # Digest of the username alone, so an administrator's unlock can clear every source's lock.
    subject_hash: Mapped[str] = mapped_column(String(64), index=True, default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecoveryCode(Base):
    """A single-use second-factor code for when the phone is lost. Only a keyed SM3 digest is kept."""

    __tablename__ = "identity_recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("identity_account.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PendingRegistration(Base):
    """A self-registration waiting for the one-time code sent to the phone on record. A row is made for
    every attempt, matched or not, so the answer never tells whether a name fits a citizen ID."""

    __tablename__ = "identity_pending_registration"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(18))
    # False when the name and ID do not match the registry (or the ID already has an account): the
    # code can then never be right.
    matched: Mapped[bool] = mapped_column(Boolean, default=False)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SmsOutbox(Base):
    """Text messages to send. The local SMS adapter stops here (the demo prints them, tests read them);
    a gateway adapter sends and stamps `sent_at`."""

    __tablename__ = "identity_sms_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OidcConsent(Base):
    """A person's remembered consent for a relying party to receive the claims of some scopes."""

    __tablename__ = "identity_oidc_consent"
    __table_args__ = (UniqueConstraint("account_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("identity_account.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
