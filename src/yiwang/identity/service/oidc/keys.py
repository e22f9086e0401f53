"""Signing keys and the JWKS: RS256 keys whose private half is sealed with SM4 under the master key.

A key is generated on first use; `rotate_signing_key` makes a new one and older keys stay published for
KEY_RETIRE_AFTER, then retire (no job needed). `sign_jwt` signs ID tokens, `_verify_own_jwt` checks an
id_token_hint against the keys still published.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from yiwang.core import audit, clock
from yiwang.core.crypto import open_secret, seal_secret
from yiwang.core.errors import Forbidden
from yiwang.core.security import Actor, require_authenticated
from yiwang.identity.models import SigningKey
from yiwang.settings import get_settings

# After a newer key is made, an old signing key stays in the JWKS this long (longer than any ID token
# lives and than relying parties cache the JWKS), then retires.
KEY_RETIRE_AFTER = timedelta(days=2)
RSA_BITS = 2048
_KEY_CONTEXT = "identity.oidc_signing_key:"


def _key_context(kid: str) -> str:
    return _KEY_CONTEXT + kid


def _create_signing_key(session: Session) -> SigningKey:
    key = RSAKey.generate_key(RSA_BITS, private=True)
    kid = key.thumbprint()  # RFC 7638: stable, derived from the public key
    pem = key.as_pem(private=True)
    public = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": "RS256"}
    row = SigningKey(
        kid=kid,
        alg="RS256",
        private_sealed=seal_secret(get_settings().resolved_master_key(), pem, _key_context(kid)),
        public_jwk=public,
        created_at=clock.now(),
        active=True,
    )
    session.add(row)
    session.flush()
    return row


def _published_keys(session: Session) -> list[SigningKey]:
    """Newest first: the signing key, then older keys until they retire (KEY_RETIRE_AFTER after a newer
    key appeared). Retirement needs no job: a key past it simply stops being published."""
    rows = list(
        session.scalars(
            select(SigningKey)
            .where(SigningKey.active.is_(True), SigningKey.alg == "RS256")
            .order_by(SigningKey.created_at.desc(), SigningKey.kid)
        )
    )
    now = clock.now()
    keep = rows[:1]
    for older, newer in zip(rows[1:], rows, strict=False):
        if newer.created_at + KEY_RETIRE_AFTER > now:
            keep.append(older)
        else:
            break
    return keep


def current_signing_key(session: Session) -> SigningKey:
    """The key new ID tokens are signed with, generated on first use."""
    keys = _published_keys(session)
    return keys[0] if keys else _create_signing_key(session)


def rotate_signing_key(session: Session, actor: Actor) -> SigningKey:
    """Make a new signing key. The old public key stays in the JWKS for KEY_RETIRE_AFTER, so ID tokens
    already issued and JWKS caches at relying parties stay valid; keys past that are marked retired."""
    require_authenticated(actor)
    if not actor.is_platform_admin:
        raise Forbidden(detail="只有平台管理员可以轮换签名密钥")
    published = {k.kid for k in _published_keys(session)}
    retired = []
    for row in session.scalars(select(SigningKey).where(SigningKey.active.is_(True))):
        if row.kid not in published:
            row.active = False
            retired.append(row.kid)
    new = _create_signing_key(session)
    audit.append(
        session,
        actor,
        "identity.oidc.key_rotate",
        object_type="signing_key",
        object_id=new.kid,
        detail={"retired": retired, "still_published": sorted(published)},
    )
    return new


@lru_cache(maxsize=16)
def _private_key(kid: str, sealed: str) -> RSAKey:
    # Immutable key material keyed by its sealed text: a cache that cannot go stale, per process.
    pem = open_secret(get_settings().resolved_master_key(), sealed, _key_context(kid))
    return RSAKey.import_key(pem)


def sign_jwt(session: Session, claims: dict[str, Any]) -> str:
    # The newest active key signs (older ones are only published). Two columns, not the ORM row: this
    # runs for every ID token.
    found = session.execute(
        select(SigningKey.kid, SigningKey.private_sealed)
        .where(SigningKey.active.is_(True), SigningKey.alg == "RS256")
        .order_by(SigningKey.created_at.desc(), SigningKey.kid)
        .limit(1)
    ).first()
    if found is not None:
        kid, sealed = found.kid, found.private_sealed
    else:
        row = _create_signing_key(session)
        kid, sealed = row.kid, row.private_sealed
    key = _private_key(kid, sealed)
    return jwt.encode({"alg": "RS256", "typ": "JWT", "kid": kid}, claims, key, algorithms=["RS256"])


def jwks(session: Session) -> dict[str, Any]:
    """The JSON Web Key Set: public keys only."""
    keys = _published_keys(session) or [current_signing_key(session)]
    return {"keys": [dict(k.public_jwk) for k in keys]}


def _verify_own_jwt(session: Session, token: str, issuer: str) -> dict[str, Any] | None:
    """Claims of a JWT this provider signed with a key it still publishes (expiry not checked)."""
    try:
        keyset = KeySet([RSAKey.import_key(k.public_jwk) for k in _published_keys(session)])
        decoded = jwt.decode(token, keyset, algorithms=["RS256"])
    except (JoseError, ValueError, TypeError):
        return None
    claims = dict(decoded.claims)
    return claims if claims.get("iss") == issuer else None
