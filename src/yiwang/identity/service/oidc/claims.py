"""Discovery and claims: the issuer, the discovery document, the `sub` of an account and the claims
released under each scope (userinfo).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from yiwang import registry
from yiwang.core import audit
from yiwang.core.crypto import sm3_hex
from yiwang.identity.models import Account, OrgUnit
from yiwang.identity.service.accounts import build_actor, staff_roles
from yiwang.identity.service.oidc.clients import GRANT_TYPES, USER_SCOPES

ACR_VALUES = {"pwd": "urn:yiwang:acr:pwd", "pwd+otp": "urn:yiwang:acr:mfa"}


def issuer_url(base_url: str) -> str:
    return base_url.rstrip("/")


def discovery_document(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oidc/authorize",
        "token_endpoint": f"{issuer}/oidc/token",
        "userinfo_endpoint": f"{issuer}/oidc/userinfo",
        "jwks_uri": f"{issuer}/oidc/jwks",
        "end_session_endpoint": f"{issuer}/oidc/logout",
        "revocation_endpoint": f"{issuer}/oidc/revoke",
        "introspection_endpoint": f"{issuer}/oidc/introspect",
        "scopes_supported": list(USER_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": list(GRANT_TYPES),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login"],
        "acr_values_supported": list(ACR_VALUES.values()),
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "acr",
            "sid",
            "at_hash",
            "azp",
            "name",
            "preferred_username",
            "account_kind",
            "idcard",
            "idcard_masked",
            "idcard_verified",
            "phone_number",
            "phone_number_verified",
            "email",
            "email_verified",
            "act_for",
            "department",
            "roles",
            "title",
        ],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
        "ui_locales_supported": ["zh-CN"],
        "service_documentation": f"{issuer}/docs",
    }


def subject_for(issuer: str, account_id: int) -> str:
    """The `sub` of an account: SM3(issuer "|" account id), first 32 hex digits. Stable for the life of
    the account (a new username, phone or name does not change it), opaque (it reveals neither the
    citizen ID nor the username), the same for every client ("public" subject type)."""
    return sm3_hex(f"{issuer}|{account_id}".encode())[:32]


def _session_sid(session_id: str | None) -> str | None:
    return sm3_hex(f"sid|{session_id}".encode())[:32] if session_id else None


def _mask(value: str) -> str:
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def _phone_e164(phone: str) -> str:
    digits = phone.strip().replace(" ", "").replace("-", "")
    return f"+86{digits}" if len(digits) == 11 and digits.isdigit() and digits[0] == "1" else digits


def user_claims(
    session: Session, account: Account, scopes: frozenset[str], on_behalf_of: str | None, issuer: str
) -> dict[str, Any]:
    """Claims released for an account under the granted scopes (userinfo)."""
    claims: dict[str, Any] = {"sub": subject_for(issuer, account.id), "account_kind": account.kind}
    cid = account.citizen_id or ""
    if "profile" in scopes:
        claims["name"] = account.display_name
        # A citizen's username is their citizen ID: released whole only under the idcard scope.
        username = account.username
        claims["preferred_username"] = (
            _mask(username) if username == cid and "idcard" not in scopes else username
        )
        if cid:
            claims["idcard_masked"] = _mask(cid)
    if "idcard" in scopes and cid:
        claims["idcard"] = cid
        claims["idcard_verified"] = True  # real-name bound to the population registry (A1)
    if "phone" in scopes and account.phone:
        claims["phone_number"] = _phone_e164(account.phone)
        claims["phone_number_verified"] = False
    if "email" in scopes and account.email:
        claims["email"] = account.email
        claims["email_verified"] = False
    if "enterprise" in scopes:
        if on_behalf_of:
            lp = registry.find_legal_person(session, on_behalf_of)
            claims["act_for"] = {"credit_code": on_behalf_of, "name": lp.name if lp else ""}
        else:
            claims["act_for"] = None
    if "staff" in scopes and account.kind == "staff":
        unit = session.get(OrgUnit, account.department_id) if account.department_id else None
        claims["department"] = {"id": unit.id, "code": unit.code, "name": unit.name} if unit else None
        claims["roles"] = sorted({g.role_code for g in staff_roles(session, account.id)})
        claims["title"] = account.title
    return claims


def _audit_release(
    s: Session,
    account: Account,
    action: str,
    client_id: str,
    *,
    on_behalf_of: str | None,
    session_id: str | None,
    ip: str | None,
    detail: dict[str, Any],
    scopes: frozenset[str] = frozenset(),
) -> None:
    """The audit record of something about a person released to a client (a code, tokens, claims):
    the person acting through the client, under their citizen ID (or username), for purpose sso."""
    actor = build_actor(
        s,
        account,
        on_behalf_of=on_behalf_of,
        scopes=scopes,
        client_id=client_id,
        session_id=session_id,
        ip=ip,
    )
    audit.append(
        s,
        actor,
        action,
        object_type="oidc_client",
        object_id=client_id,
        subject=account.citizen_id or account.username,
        purpose="sso",
        detail=detail,
    )
