"""The OpenID Connect provider (A2) and client registration (A5).

The main journey is driven by pyoidc (`oic`), an OIDC client library independent of the provider code:
it reads the discovery document, fetches the JWKS and verifies the ID token's signature, iss, aud and
nonce itself. The rest exercises every refusal, and checks each lands in the audit chain.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fastapi.testclient import TestClient
from requests.structures import CaseInsensitiveDict
from sqlalchemy import select

from yiwang.core import clock
from yiwang.core.audit.models import AuditRecord
from yiwang.core.errors import Forbidden, Invalid
from yiwang.identity import build_actor, find_account
from yiwang.identity.models import AccessToken, OidcClient, SigningKey, WebSession
from yiwang.identity.service import oidc as svc
from yiwang.identity.service.tokens import digest
from yiwang.settings import get_settings

ISSUER = get_settings().base_url.rstrip("/")
RP_CALLBACK = "https://oa.example.gov.cn/sso/callback"
RP_LOGOUT = "https://oa.example.gov.cn/bye"
SYSTEM_SCOPES = "licence.verify exchange.call"


# ---- fixtures and helpers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rp:
    client_id: str
    secret: str | None
    redirect_uri: str = RP_CALLBACK


def _actor(session, city, key: str):
    account = find_account(session, city.accounts[key].username)
    assert account is not None
    return build_actor(session, account)


def _register(db, city, **overrides: Any) -> Rp:
    args: dict[str, Any] = {
        "name": "市协同办公系统",
        "owner_unit_id": city.departments["dashuju"],
        "redirect_uris": [RP_CALLBACK],
        "post_logout_redirect_uris": [RP_LOGOUT],
        "grant_types": ["authorization_code", "refresh_token"],
        "allowed_scopes": "openid profile phone idcard enterprise staff email",
    }
    args.update(overrides)
    with db.session() as s:
        client, secret = svc.register_client(s, _actor(s, city, "admin"), **args)
        return Rp(client.client_id, secret, (args["redirect_uris"] or [""])[0])


@pytest.fixture
def rp(db, city) -> Rp:
    return _register(db, city)


@pytest.fixture
def public_rp(db, city) -> Rp:
    return _register(
        db, city, name="掌上办事 App", is_confidential=False, redirect_uris=["http://127.0.0.1:7777/cb"]
    )


@pytest.fixture
def system(db, city) -> Rp:
    return _register(
        db,
        city,
        name="市不动产登记系统",
        redirect_uris=[],
        post_logout_redirect_uris=[],
        grant_types=["client_credentials"],
        allowed_scopes=SYSTEM_SCOPES,
    )


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def basic(client_id: str, secret: str | None) -> dict[str, str]:
    raw = f"{client_id}:{secret or ''}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def sign_in(client: TestClient, city, key: str = "citizen", next_url: str = "/") -> None:
    """Through the login page, as a browser would: its form carries the anonymous CSRF token."""
    account = city.accounts[key]
    login_as = {"enterprise": "enterprise"}.get(
        account.kind, "staff" if account.kind == "staff" else "citizen"
    )
    page = client.get("/login", params={"as": login_as, "next": next_url})
    assert page.status_code == 200, page.text
    # The login form's own token: a signed-in page also has the logout form's (session) token.
    login_form = (
        page.text[page.text.index('id="login-form"') :] if 'id="login-form"' in page.text else page.text
    )
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', login_form)
    assert csrf is not None
    form = {
        "csrf_token": csrf.group(1),
        "login_as": login_as,
        "username": account.username,
        "password": account.password,
        "next": next_url,
        "on_behalf_of": account.on_behalf_of or "",
    }
    done = client.post("/login", data=form, follow_redirects=False)
    assert done.status_code in (302, 303), done.text
    assert get_settings().session_cookie in client.cookies


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


def consent_form(page) -> list[tuple[str, str]]:
    """The hidden fields of the consent screen's form (the authorization request and the CSRF token)."""
    from html import unescape

    assert page.status_code == 200 and 'action="/oidc/consent"' in page.text, page.text[:300]
    form = page.text[page.text.index('action="/oidc/consent"') :]
    return [(unescape(k), unescape(v)) for k, v in _HIDDEN.findall(form[: form.index("</form>")])]


def answer_consent(client: TestClient, page, decision: str = "allow", remember: bool = False):
    """Answer the consent screen `page` as the person would; returns the redirect to the client."""
    data: dict[str, list[str]] = {}
    for name, value in (
        consent_form(page) + [("decision", decision)] + ([("remember", "1")] if remember else [])
    ):
        data.setdefault(name, []).append(value)
    return client.post("/oidc/consent", data=data, follow_redirects=False)


def follow_consent(client: TestClient, r, decision: str = "allow"):
    """Through the consent screen if `r` is one (a person agreeing), else `r` itself."""
    if r.status_code == 200 and 'action="/oidc/consent"' in r.text:
        return answer_consent(client, r, decision)
    return r


def authorize(client: TestClient, rp: Rp, consent: str | None = "allow", **params: str):
    """An authorization request; with `consent`, the consent screen (if shown) is answered so."""
    args = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid profile",
        "state": "st-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
    }
    args.update(params)
    r = client.get(
        "/oidc/authorize", params={k: v for k, v in args.items() if v is not None}, follow_redirects=False
    )
    return follow_consent(client, r, consent) if consent else r


def get_code(client: TestClient, rp: Rp, **params: str) -> tuple[str, str]:
    """Signed in already: (code, verifier) for an authorization with PKCE."""
    verifier, challenge = pkce()
    r = authorize(client, rp, code_challenge=challenge, code_challenge_method="S256", **params)
    assert r.status_code in (302, 303), r.text
    got = query(r.headers["location"])
    assert "code" in got, got
    return got["code"], verifier


def exchange(client: TestClient, rp: Rp, code: str, verifier: str | None, **extra: str):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri, **extra}
    if verifier is not None:
        data["code_verifier"] = verifier
    headers = basic(rp.client_id, rp.secret) if rp.secret else {}
    if not rp.secret:
        data["client_id"] = rp.client_id
    return client.post("/oidc/token", data=data, headers=headers)


def tokens(client: TestClient, city, rp: Rp, key: str = "citizen", scope: str = "openid profile") -> dict:
    sign_in(client, city, key)
    code, verifier = get_code(client, rp, scope=scope)
    r = exchange(client, rp, code, verifier)
    assert r.status_code == 200, r.text
    return r.json()


def refusals(db, action: str, reason: str) -> list[AuditRecord]:
    with db.session() as s:
        return list(
            s.scalars(
                select(AuditRecord).where(
                    AuditRecord.action == action,
                    AuditRecord.result == "refused",
                    AuditRecord.purpose == reason,
                )
            )
        )


def jwt_part(token: str, index: int) -> dict[str, Any]:
    """The header (0) or claims (1) of a JWT, unverified: for looking, not for trusting."""
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- pyoidc: an independent relying party --------------------------------------------------------


class _AppAdapter(requests.adapters.BaseAdapter):
    """A requests transport that hands every request to the ASGI app (the RP's back channel)."""

    def __init__(self, client: TestClient) -> None:
        super().__init__()
        self.client = client

    def send(self, request, **kwargs):  # noqa: ANN001, ANN201
        parts = urlsplit(request.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = request.body.encode() if isinstance(request.body, str) else request.body
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        got = self.client.request(request.method, path, content=body, headers=headers, follow_redirects=False)
        response = requests.Response()
        response.status_code = got.status_code
        response._content = got.content
        response.headers = CaseInsensitiveDict(got.headers)
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def _pyoidc_client(app, monkeypatch, rp: Rp):  # noqa: ANN202
    import oic.utils.keyio as keyio
    from oic.oic import Client
    from oic.oic.message import RegistrationResponse
    from oic.utils.authn.client import CLIENT_AUTHN_METHOD
    from oic.utils.settings import OicClientSettings

    backchannel = requests.Session()
    backchannel.mount(ISSUER + "/", _AppAdapter(TestClient(app, base_url="http://testserver")))
    # pyoidc's KeyBundle fetches the JWKS with the module-level `requests.get`.
    monkeypatch.setattr(keyio.requests, "get", backchannel.get)
    oidc = Client(
        client_authn_method=CLIENT_AUTHN_METHOD, settings=OicClientSettings(requests_session=backchannel)
    )
    oidc.provider_config(ISSUER)
    oidc.store_registration_info(
        RegistrationResponse(
            client_id=rp.client_id,
            client_secret=rp.secret,
            redirect_uris=[rp.redirect_uri],
            token_endpoint_auth_method="client_secret_basic",
        )
    )
    oidc.redirect_uris = [rp.redirect_uri]
    return oidc


def test_full_code_flow_with_pkce_verified_by_pyoidc(app, client, city, rp, db, monkeypatch):
    from oic import rndstr
    from oic.oic.message import AccessTokenResponse, AuthorizationResponse, OpenIDSchema

    oidc = _pyoidc_client(app, monkeypatch, rp)
    assert oidc.provider_info["issuer"] == ISSUER
    state, nonce = rndstr(16), rndstr(16)
    pkce_args, verifier = oidc.add_code_challenge()
    request_args = {
        "response_type": "code",
        "scope": "openid profile phone idcard",
        "state": state,
        "nonce": nonce,
        "redirect_uri": rp.redirect_uri,
        **pkce_args,
    }
    url = oidc.construct_AuthorizationRequest(request_args=request_args).request(oidc.authorization_endpoint)
    assert url.startswith(ISSUER + "/oidc/authorize?")
    path = url[len(ISSUER) :]

    # Not signed in: the provider sends the browser to its login page, which comes back here.
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 302
    login = urlsplit(r.headers["location"])
    assert login.path == "/login"
    next_url = parse_qs(login.query)["next"][0]
    assert next_url.startswith("/oidc/authorize?")
    sign_in(client, city, "citizen", next_url=next_url)
    # Signed in, the person is asked first: the system is named and what it would receive is listed in
    # Chinese, the full citizen ID first and marked sensitive. Nothing is released before the answer.
    page = client.get(next_url, follow_redirects=False)
    assert page.status_code == 200 and 'action="/oidc/consent"' in page.text
    text = re.sub(r"<[^>]+>", " ", page.text)
    assert "请求使用您的信息" in text and "完整的公民身份号码" in text and "敏感信息" in text
    assert text.index("完整的公民身份号码") < text.index("基本资料") < text.index("手机号码")
    with db.session() as s:
        assert not s.scalars(select(AccessToken).where(AccessToken.client_id == rp.client_id)).all()
    r = answer_consent(client, page, "allow")
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith(rp.redirect_uri + "?")
    assert query(location)["iss"] == ISSUER

    # pyoidc parses the authorization response (state checked) …
    aresp = oidc.parse_response(AuthorizationResponse, info=urlsplit(location).query, sformat="urlencoded")
    assert aresp["state"] == state
    # … exchanges the code with client_secret_basic and the PKCE verifier, and verifies the ID token:
    # signature against the JWKS, iss, aud, exp, nonce.
    atr = oidc.do_access_token_request(
        state=state,
        request_args={"code": aresp["code"], "redirect_uri": rp.redirect_uri, "code_verifier": verifier},
        authn_method="client_secret_basic",
    )
    assert isinstance(atr, AccessTokenResponse), atr
    id_token = atr["id_token"]
    assert id_token["iss"] == ISSUER
    assert rp.client_id in id_token["aud"]
    assert id_token["nonce"] == nonce
    assert id_token["amr"] == ["pwd"]
    assert id_token["acr"] == svc.ACR_VALUES["pwd"]
    assert id_token["sid"] and id_token["at_hash"] and id_token["auth_time"] <= id_token["iat"]
    with db.session() as s:
        account = find_account(s, city.accounts["citizen"].username)
        assert account is not None
        assert id_token["sub"] == svc.subject_for(ISSUER, account.id)

    # pyoidc really checks the signature: a raw ID token verifies against the JWKS it fetched, the
    # same token with one signature byte changed does not.
    from jwkest.jws import BadSignature
    from oic.oic.message import IdToken

    raw = exchange(client, rp, *get_code(client, rp)).json()["id_token"]
    assert IdToken().from_jwt(raw, keyjar=oidc.keyjar, sender=ISSUER)["iss"] == ISSUER
    head, body, sig = raw.split(".")
    forged = ".".join((head, body, ("A" if sig[5] != "A" else "B").join((sig[:5], sig[6:]))))
    with pytest.raises(BadSignature):
        IdToken().from_jwt(forged, keyjar=oidc.keyjar, sender=ISSUER)

    # UserInfo through pyoidc, with the access token as Bearer.
    info = oidc.do_user_info_request(state=state, method="GET", behavior="use_authorization_header")
    assert isinstance(info, OpenIDSchema), info
    assert info["sub"] == id_token["sub"]
    assert info["name"] == city.accounts["citizen"].display_name
    assert info["idcard"] == city.accounts["citizen"].citizen_id  # idcard scope: whole
    assert info["account_kind"] == "citizen"
    assert "phone_number" in info.to_dict() or "phone" not in request_args["scope"]

    # The access token is the relying party's, not the platform session: the platform's own API
    # refuses it (insufficient_scope), however much the person could do there themself.
    me = client.get("/api/v1/identity/me", headers=bearer(atr["access_token"]))
    assert me.status_code == 403, me.text
    assert me.json()["type"] == "/problems/insufficient-scope"
    assert 'error="insufficient_scope"' in me.headers["www-authenticate"]

    # Issuance is in the audit chain, with the person as the data subject.
    with db.session() as s:
        issued = s.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "identity.oidc.token",
                AuditRecord.client_id == rp.client_id,
                AuditRecord.result == "ok",
            )
        ).all()
        assert {r.subject for r in issued} == {city.accounts["citizen"].citizen_id}


# ---- discovery and keys --------------------------------------------------------------------------


def test_discovery_document(client):
    r = client.get("/.well-known/openid-configuration")
    assert r.status_code == 200
    doc = r.json()
    assert doc["issuer"] == ISSUER and not doc["issuer"].endswith("/")
    for name, path in {
        "authorization_endpoint": "/oidc/authorize",
        "token_endpoint": "/oidc/token",
        "userinfo_endpoint": "/oidc/userinfo",
        "jwks_uri": "/oidc/jwks",
        "end_session_endpoint": "/oidc/logout",
        "revocation_endpoint": "/oidc/revoke",
        "introspection_endpoint": "/oidc/introspect",
    }.items():
        assert doc[name] == ISSUER + path
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert set(doc["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials"}
    assert {"client_secret_basic", "client_secret_post"} <= set(doc["token_endpoint_auth_methods_supported"])
    assert "openid" in doc["scopes_supported"] and doc["subject_types_supported"] == ["public"]


def test_jwks_publishes_only_the_public_rsa_key(client, db):
    r = client.get("/oidc/jwks")
    assert r.status_code == 200
    keys = r.json()["keys"]
    assert len(keys) >= 1
    for key in keys:
        assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig" and key["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    with db.session() as s:
        row = s.get(SigningKey, keys[0]["kid"])
        assert row is not None
        assert "PRIVATE" not in row.private_sealed  # sealed with SM4 under the master key


def test_key_rotation_keeps_the_old_key_published_until_it_retires(client, db, city, rp):
    first = tokens(client, city, rp)
    old_kid = client.get("/oidc/jwks").json()["keys"][0]["kid"]
    with db.session() as s:
        new = svc.rotate_signing_key(s, _actor(s, city, "admin"))
        new_kid = new.kid
        with pytest.raises(Forbidden):
            svc.rotate_signing_key(s, _actor(s, city, "dept_admin"))
    kids = [k["kid"] for k in client.get("/oidc/jwks").json()["keys"]]
    assert kids[0] == new_kid and old_kid in kids
    # The old ID token still verifies; new ones are signed with the new key.
    with db.session() as s:
        assert svc._verify_own_jwt(s, first["id_token"], ISSUER) is not None
    second = exchange(client, rp, *get_code(client, rp)).json()
    header = jwt_part(second["id_token"], 0)
    assert header["kid"] == new_kid and header["alg"] == "RS256"
    with clock.freeze(clock.now() + svc.KEY_RETIRE_AFTER + timedelta(minutes=1)):
        assert [k["kid"] for k in client.get("/oidc/jwks").json()["keys"]] == [new_kid]


# ---- client credentials (system to system) -------------------------------------------------------


def test_client_credentials_token_for_a_system(client, db, system):
    r = client.post(
        "/oidc/token",
        data={"grant_type": "client_credentials"},
        headers=basic(system.client_id, system.secret),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and set(body["scope"].split()) == set(SYSTEM_SCOPES.split())
    assert "refresh_token" not in body and "id_token" not in body
    assert r.headers["cache-control"] == "no-store"
    token = body["access_token"]

    # A narrower scope may be asked for (client_secret_post this time); a wider one is refused.
    r = client.post(
        "/oidc/token",
        data={
            "grant_type": "client_credentials",
            "scope": "licence.verify",
            "client_id": system.client_id,
            "client_secret": system.secret,
        },
    )
    assert r.status_code == 200 and r.json()["scope"] == "licence.verify"
    r = client.post(
        "/oidc/token",
        data={"grant_type": "client_credentials", "scope": "openid audit.read"},
        headers=basic(system.client_id, system.secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    assert refusals(db, "identity.oidc.token", "scope-not-allowed")

    # The token works as a Bearer on the platform API and is the system, not a person: the API knows
    # who calls (403 "no profile"), where a bad token is 401.
    me = client.get("/api/v1/identity/me", headers=bearer(token))
    assert me.status_code == 403, me.text
    assert client.get("/api/v1/identity/me", headers=bearer("forged")).status_code == 401

    # UserInfo refuses it: there is no user. 403 insufficient_scope (the token is valid, so not 401).
    r = client.get("/oidc/userinfo", headers=bearer(token))
    assert r.status_code == 403
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    assert r.json()["error"] == "insufficient_scope" and r.json()["status"] == 403
    assert refusals(db, "identity.oidc.userinfo", "no-user")

    # A resource server introspects it.
    r = client.post("/oidc/introspect", data={"token": token}, headers=basic(system.client_id, system.secret))
    assert r.status_code == 200
    assert r.json()["active"] is True and r.json()["account_kind"] == "system"
    assert r.json()["client_id"] == system.client_id

    with db.session() as s:
        ok = s.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "identity.oidc.token",
                AuditRecord.client_id == system.client_id,
                AuditRecord.result == "ok",
            )
        ).all()
        assert len(ok) == 2 and all(r.actor_kind == "system" for r in ok)


def test_system_client_cannot_use_grants_it_was_not_given(client, db, system, rp):
    r = client.post(
        "/oidc/token",
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": "x"},
        headers=basic(system.client_id, system.secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
    r = client.post(
        "/oidc/token", data={"grant_type": "client_credentials"}, headers=basic(rp.client_id, rp.secret)
    )
    assert r.status_code == 400 and r.json()["error"] == "unauthorized_client"
    r = client.post("/oidc/token", data={"grant_type": "password"}, headers=basic(rp.client_id, rp.secret))
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = client.post("/oidc/token", data={}, headers=basic(rp.client_id, rp.secret))
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert refusals(db, "identity.oidc.token", "grant-not-allowed")


# ---- client authentication -----------------------------------------------------------------------


def test_wrong_secret_is_invalid_client_401(client, db, system):
    r = client.post(
        "/oidc/token",
        data={"grant_type": "client_credentials"},
        headers=basic(system.client_id, "not-the-secret"),
    )
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client" and r.json()["error_description"]
    assert r.headers["www-authenticate"].startswith("Basic")
    r = client.post(
        "/oidc/token",
        data={"grant_type": "client_credentials", "client_id": system.client_id, "client_secret": "wrong"},
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    recorded = refusals(db, "identity.oidc.token", "bad-client-secret")
    assert len(recorded) == 2 and all(rec.object_id == system.client_id for rec in recorded)
    # Nothing was issued.
    with db.session() as s:
        assert not s.scalars(select(AccessToken).where(AccessToken.client_id == system.client_id)).all()


def test_unknown_client_and_no_credentials_at_token_endpoint(client, db):
    r = client.post(
        "/oidc/token", data={"grant_type": "client_credentials"}, headers=basic("yw-00000000", "x")
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = client.post("/oidc/token", data={"grant_type": "client_credentials"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert refusals(db, "identity.oidc.token", "unknown-client")
    assert refusals(db, "identity.oidc.token", "no-client-auth")


def test_two_client_authentication_methods_at_once_are_refused(client, system):
    r = client.post(
        "/oidc/token",
        data={"grant_type": "client_credentials", "client_secret": system.secret},
        headers=basic(system.client_id, system.secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_repeated_parameter_is_refused(client, system):
    body = "grant_type=client_credentials&grant_type=client_credentials"
    r = client.post(
        "/oidc/token",
        content=body,
        headers={
            **basic(system.client_id, system.secret),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


# ---- authorization endpoint refusals -------------------------------------------------------------


def test_unregistered_redirect_uri_shows_a_page_and_never_redirects(client, db, city, rp):
    sign_in(client, city)
    evil = "https://evil.example.com/steal"
    r = authorize(client, rp, redirect_uri=evil, code_challenge=pkce()[1], code_challenge_method="S256")
    assert r.status_code == 400
    assert "location" not in r.headers
    assert r.headers["content-type"].startswith("text/html")
    assert "回调地址未在" in r.text and evil not in r.headers.get("location", "")
    # An API caller gets problem+json.
    r = client.get(
        "/oidc/authorize",
        params={"client_id": rp.client_id, "redirect_uri": evil, "response_type": "code", "scope": "openid"},
        headers={"Accept": "application/json"},
        follow_redirects=False,
    )
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/oidc-invalid-client-or-redirect"
    recorded = refusals(db, "identity.oidc.authorize", "unregistered-redirect-uri")
    assert len(recorded) == 2 and evil in recorded[0].detail


def test_unknown_or_inactive_client_shows_a_page(client, db, city, rp):
    r = authorize(client, Rp("yw-deadbeef", None))
    assert r.status_code == 400 and "location" not in r.headers and "未知的接入系统" in r.text
    assert refusals(db, "identity.oidc.authorize", "unknown-client")
    with db.session() as s:
        svc.deactivate_client(s, _actor(s, city, "admin"), rp.client_id)
    r = authorize(client, rp)
    assert r.status_code == 400 and "location" not in r.headers and "已停用" in r.text
    assert refusals(db, "identity.oidc.authorize", "inactive-client")


def _error_back(r, rp: Rp) -> dict[str, str]:
    assert r.status_code == 302, r.text
    assert r.headers["location"].startswith(rp.redirect_uri + "?")
    got = query(r.headers["location"])
    assert got["iss"] == ISSUER
    return got


def test_public_client_must_use_pkce(client, db, city, public_rp):
    sign_in(client, city)
    got = _error_back(authorize(client, public_rp, state="s1"), public_rp)
    assert got["error"] == "invalid_request" and got["state"] == "s1" and "PKCE" in got["error_description"]
    assert refusals(db, "identity.oidc.authorize", "pkce-required")


def test_plain_pkce_method_is_refused(client, db, city, rp):
    sign_in(client, city)
    verifier, _ = pkce()
    got = _error_back(authorize(client, rp, code_challenge=verifier[:43], code_challenge_method="plain"), rp)
    assert got["error"] == "invalid_request" and "plain" in got["error_description"]
    got = _error_back(authorize(client, rp, code_challenge=verifier[:43]), rp)  # method defaults to plain
    assert got["error"] == "invalid_request"
    assert len(refusals(db, "identity.oidc.authorize", "pkce-plain")) == 2


def test_openid_scope_and_code_response_type_are_required(client, db, city, rp):
    sign_in(client, city)
    got = _error_back(authorize(client, rp, scope="profile"), rp)
    assert got["error"] == "invalid_scope"
    got = _error_back(authorize(client, rp, response_type="token"), rp)
    assert got["error"] == "unsupported_response_type"
    got = _error_back(authorize(client, rp, request="eyJ..."), rp)
    assert got["error"] == "request_not_supported"
    assert refusals(db, "identity.oidc.authorize", "no-openid-scope")


def test_not_signed_in_goes_to_the_login_page_and_prompt_none_is_login_required(client, db, rp):
    r = authorize(client, rp, state="abc")
    assert r.status_code == 302
    target = urlsplit(r.headers["location"])
    assert target.path == "/login"
    nxt = parse_qs(target.query)["next"][0]
    assert nxt.startswith("/oidc/authorize?") and f"client_id={rp.client_id}" in nxt and "state=abc" in nxt
    got = _error_back(authorize(client, rp, prompt="none", state="xyz"), rp)
    assert got == {
        "error": "login_required",
        "error_description": got["error_description"],
        "state": "xyz",
        "iss": ISSUER,
    }
    assert refusals(db, "identity.oidc.authorize", "login-required")


def test_prompt_login_forces_a_new_login(client, city, rp):
    sign_in(client, city)
    code, _ = get_code(client, rp)  # signed in: straight back with a code
    assert code
    r = authorize(client, rp, prompt="login")
    assert r.status_code == 302 and urlsplit(r.headers["location"]).path == "/login"
    nxt = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
    assert "prompt=login" not in nxt and svc.AUTH_AFTER_PARAM in nxt
    # Coming back without logging in again is not enough …
    again = client.get(nxt, follow_redirects=False)
    assert urlsplit(again.headers["location"]).path == "/login"
    # … a fresh login is.
    later = datetime.fromtimestamp(int(parse_qs(urlsplit(nxt).query)[svc.AUTH_AFTER_PARAM][0]) / 1e6, UTC)
    with clock.freeze(later + timedelta(seconds=1)):
        # (The browser's session cookie is dropped first: see test_relogin_while_signed_in.)
        client.cookies.delete(get_settings().session_cookie)
        sign_in(client, city, next_url=nxt)
        done = follow_consent(client, client.get(nxt, follow_redirects=False))
    assert done.status_code in (302, 303) and "code" in query(done.headers["location"])


def test_relogin_while_signed_in(client, city, rp):
    sign_in(client, city)
    r = authorize(client, rp, prompt="login")
    nxt = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
    later = datetime.fromtimestamp(int(parse_qs(urlsplit(nxt).query)[svc.AUTH_AFTER_PARAM][0]) / 1e6, UTC)
    with clock.freeze(later + timedelta(seconds=1)):
        sign_in(client, city, next_url=nxt)
        done = follow_consent(client, client.get(nxt, follow_redirects=False))
    assert done.status_code in (302, 303) and "code" in query(done.headers["location"])


def test_max_age_forces_a_new_login_when_the_session_is_older(client, city, rp):
    start = clock.now()
    with clock.freeze(start) as frozen:
        sign_in(client, city)
        frozen.tick(timedelta(minutes=10))
        r = authorize(client, rp, max_age="300")
        assert urlsplit(r.headers["location"]).path == "/login"
        r = authorize(client, rp, max_age="3600", code_challenge=pkce()[1], code_challenge_method="S256")
        assert "code" in query(r.headers["location"])


# ---- token endpoint refusals ---------------------------------------------------------------------


def test_pkce_mismatch_is_refused(client, db, city, rp):
    sign_in(client, city)
    code, verifier = get_code(client, rp)
    r = exchange(client, rp, code, pkce()[0])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "PKCE" in r.json()["error_description"]
    assert refusals(db, "identity.oidc.token", "pkce-mismatch")
    # A failed PKCE check spends the code: whoever holds a stolen code gets one guess, not many, and
    # even the right verifier is now refused.
    r = exchange(client, rp, code, verifier)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert refusals(db, "identity.oidc.token", "code-reused")
    code, verifier = get_code(client, rp)
    r = exchange(client, rp, code, None)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert refusals(db, "identity.oidc.token", "pkce-missing")
    assert exchange(client, rp, code, verifier).status_code == 400


def test_code_is_bound_to_client_and_redirect_uri(client, db, city, rp):
    other = _register(db, city, name="另一个系统")
    sign_in(client, city)
    code, verifier = get_code(client, rp)
    r = exchange(client, other, code, verifier)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = exchange(client, Rp(rp.client_id, rp.secret, "https://oa.example.gov.cn/other"), code, verifier)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert refusals(db, "identity.oidc.token", "redirect-uri-mismatch")


def test_confidential_client_without_pkce_and_public_client_with_it(client, city, rp, public_rp):
    sign_in(client, city)
    r = authorize(client, rp)  # a confidential client may leave PKCE out
    code = query(r.headers["location"])["code"]
    assert exchange(client, rp, code, None).status_code == 200
    code, verifier = get_code(client, public_rp)
    r = exchange(client, public_rp, code, verifier)  # no secret: client_id in the body, PKCE proves it
    assert r.status_code == 200, r.text
    assert "id_token" in r.json()


def test_reused_code_fails_and_revokes_the_tokens_it_gave(client, db, city, rp):
    sign_in(client, city)
    code, verifier = get_code(client, rp)
    first = exchange(client, rp, code, verifier)
    assert first.status_code == 200
    body = first.json()
    assert client.get("/oidc/userinfo", headers=bearer(body["access_token"])).status_code == 200
    second = exchange(client, rp, code, verifier)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    # The tokens from the first exchange are dead, the refresh token too.
    assert client.get("/oidc/userinfo", headers=bearer(body["access_token"])).status_code == 401
    r = client.post(
        "/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=basic(rp.client_id, rp.secret),
    )
    assert r.status_code == 400
    recorded = refusals(db, "identity.oidc.token", "code-reused")
    assert len(recorded) == 1 and '"tokens_revoked":2' in recorded[0].detail.replace(" ", "")


def test_expired_code_is_refused(client, db, city, rp):
    with clock.freeze(clock.now()) as frozen:
        sign_in(client, city)
        code, verifier = get_code(client, rp)
        frozen.tick(svc.CODE_TTL + timedelta(seconds=1))
        r = exchange(client, rp, code, verifier)
    assert (
        r.status_code == 400
        and r.json()["error"] == "invalid_grant"
        and "过期" in r.json()["error_description"]
    )
    assert refusals(db, "identity.oidc.token", "code-expired")


def test_refresh_rotates_and_the_old_refresh_token_is_refused(client, db, city, rp):
    body = tokens(client, city, rp)
    r = client.post(
        "/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=basic(rp.client_id, rp.secret),
    )
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["refresh_token"] != body["refresh_token"] and new["access_token"] != body["access_token"]
    refreshed = jwt_part(new["id_token"], 1)
    assert refreshed["aud"] == rp.client_id and "nonce" not in refreshed
    assert refreshed["auth_time"] == jwt_part(body["id_token"], 1)["auth_time"]
    assert client.get("/oidc/userinfo", headers=bearer(new["access_token"])).status_code == 200
    # A narrower scope is fine, a wider one is not.
    r = client.post(
        "/oidc/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": new["refresh_token"],
            "scope": "openid profile phone",
        },
        headers=basic(rp.client_id, rp.secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    # The rotated-out token again: refused, and the whole grant is revoked (someone kept a copy).
    r = client.post(
        "/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=basic(rp.client_id, rp.secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert client.get("/oidc/userinfo", headers=bearer(new["access_token"])).status_code == 401
    r = client.post(
        "/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": new["refresh_token"]},
        headers=basic(rp.client_id, rp.secret),
    )
    assert r.status_code == 400
    assert refusals(db, "identity.oidc.token", "refresh-reused")


def test_refresh_token_of_another_client_is_refused(client, db, city, rp):
    body = tokens(client, city, rp)
    other = _register(db, city, name="另一个系统")
    r = client.post(
        "/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=basic(other.client_id, other.secret),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


# ---- userinfo ------------------------------------------------------------------------------------


def _assert_invalid_token(r) -> None:
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="yiwang", error="invalid_token"'
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["error"] == "invalid_token" and body["status"] == 401 and body["title"] == "访问令牌无效"


def test_userinfo_refuses_forged_expired_and_revoked_tokens(client, db, city, rp):
    _assert_invalid_token(client.get("/oidc/userinfo", headers=bearer("forged-" + secrets.token_urlsafe(32))))
    r = client.get("/oidc/userinfo")
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="yiwang"'
    assert refusals(db, "identity.oidc.userinfo", "unknown-token")

    body = tokens(client, city, rp)
    minutes = get_settings().access_token_minutes
    with clock.freeze(clock.now() + timedelta(minutes=minutes, seconds=1)):
        _assert_invalid_token(client.get("/oidc/userinfo", headers=bearer(body["access_token"])))
    assert refusals(db, "identity.oidc.userinfo", "expired-token")

    r = client.post(
        "/oidc/revoke", data={"token": body["access_token"]}, headers=basic(rp.client_id, rp.secret)
    )
    assert r.status_code == 200
    _assert_invalid_token(client.post("/oidc/userinfo", headers=bearer(body["access_token"])))
    assert refusals(db, "identity.oidc.userinfo", "revoked-token")
    # Another client cannot revoke someone else's token, and learns nothing (200 either way).
    body2 = exchange(client, rp, *get_code(client, rp)).json()
    other = _register(db, city, name="另一个系统")
    assert (
        client.post(
            "/oidc/revoke",
            data={"token": body2["access_token"]},
            headers=basic(other.client_id, other.secret),
        ).status_code
        == 200
    )
    assert client.get("/oidc/userinfo", headers=bearer(body2["access_token"])).status_code == 200


def test_revoking_a_refresh_token_revokes_its_grant(client, city, rp):
    body = tokens(client, city, rp)
    r = client.post(
        "/oidc/revoke",
        data={"token": body["refresh_token"], "token_type_hint": "refresh_token"},
        headers=basic(rp.client_id, rp.secret),
    )
    assert r.status_code == 200
    assert client.get("/oidc/userinfo", headers=bearer(body["access_token"])).status_code == 401


def test_claims_follow_the_scopes(client, db, city, rp):
    citizen = city.accounts["citizen"]
    body = tokens(client, city, rp, scope="openid profile")
    info = client.get("/oidc/userinfo", headers=bearer(body["access_token"])).json()
    assert info["name"] == citizen.display_name and info["account_kind"] == "citizen"
    assert "idcard" not in info and "phone_number" not in info
    assert info["idcard_masked"] == citizen.citizen_id[:6] + "********" + citizen.citizen_id[-4:]
    assert citizen.citizen_id not in json.dumps(info)  # the username is the citizen ID: masked too
    body = exchange(client, rp, *get_code(client, rp, scope="openid")).json()
    info = client.get("/oidc/userinfo", headers=bearer(body["access_token"])).json()
    assert set(info) == {"sub", "account_kind"}
    # Reading a person's data is audited with them as the data subject.
    with db.session() as s:
        reads = s.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "identity.oidc.userinfo", AuditRecord.result == "ok"
            )
        ).all()
        assert reads and all(r.subject == citizen.citizen_id for r in reads)


def test_enterprise_and_staff_claims(app, city, rp):
    with TestClient(app) as browser:
        body = tokens(browser, city, rp, key="enterprise", scope="openid profile enterprise")
        info = browser.get("/oidc/userinfo", headers=bearer(body["access_token"])).json()
        assert info["act_for"]["credit_code"] == city.accounts["enterprise"].on_behalf_of
        assert info["act_for"]["name"]
    with TestClient(app) as browser:
        body = tokens(browser, city, rp, key="approver", scope="openid profile staff")
        info = browser.get("/oidc/userinfo", headers=bearer(body["access_token"])).json()
        assert info["account_kind"] == "staff"
        assert info["department"]["name"] and "approver" in info["roles"]


def test_sub_is_stable_opaque_and_the_same_for_every_client(client, db, city, rp):
    other = _register(db, city, name="另一个系统")
    a = tokens(client, city, rp)
    b = exchange(client, other, *get_code(client, other)).json()
    sub_a = client.get("/oidc/userinfo", headers=bearer(a["access_token"])).json()["sub"]
    sub_b = client.get("/oidc/userinfo", headers=bearer(b["access_token"])).json()["sub"]
    assert sub_a == sub_b and re.fullmatch(r"[0-9a-f]{32}", sub_a)
    assert city.accounts["citizen"].citizen_id not in sub_a


def test_introspection_needs_a_confidential_client(client, db, city, rp, public_rp):
    body = tokens(client, city, rp)
    r = client.post("/oidc/introspect", data={"token": body["access_token"]})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = client.post(
        "/oidc/introspect", data={"token": body["access_token"], "client_id": public_rp.client_id}
    )
    assert r.status_code == 401
    r = client.post(
        "/oidc/introspect", data={"token": body["access_token"]}, headers=basic(rp.client_id, rp.secret)
    )
    got = r.json()
    assert got["active"] is True and got["client_id"] == rp.client_id and got["token_type"] == "Bearer"
    assert "idcard" not in got and city.accounts["citizen"].citizen_id not in json.dumps(got)
    r = client.post("/oidc/introspect", data={"token": "nope"}, headers=basic(rp.client_id, rp.secret))
    assert r.json() == {"active": False}
    assert refusals(db, "identity.oidc.introspect", "public-client")


# ---- logout --------------------------------------------------------------------------------------


def test_logout_with_a_registered_address_ends_the_session_and_its_tokens(client, db, city, rp):
    body = tokens(client, city, rp)
    cookie = client.cookies.get(get_settings().session_cookie)
    r = client.get(
        "/oidc/logout",
        params={"id_token_hint": body["id_token"], "post_logout_redirect_uri": RP_LOGOUT, "state": "bye1"},
        follow_redirects=False,
    )
    assert r.status_code == 302 and r.headers["location"] == RP_LOGOUT + "?state=bye1"
    with db.session() as s:
        ws = s.get(WebSession, digest(cookie))
        assert ws is not None and ws.revoked_at is not None
    assert client.get("/oidc/userinfo", headers=bearer(body["access_token"])).status_code == 401
    r = client.post(
        "/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=basic(rp.client_id, rp.secret),
    )
    assert r.status_code == 400
    # Signed out: the next authorization goes to the login page.
    assert urlsplit(authorize(client, rp).headers["location"]).path == "/login"


def test_platform_logout_also_ends_the_tokens_issued_from_that_session(client, db, city, rp):
    body = tokens(client, city, rp)
    home = client.get("/")
    csrf = re.search(r'action="/logout".*?name="csrf_token" value="([^"]*)"', home.text, re.S)
    assert csrf is not None
    r = client.post("/logout", data={"csrf_token": csrf.group(1)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/oidc/userinfo", headers=bearer(body["access_token"])).status_code == 401
    r = client.post(
        "/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=basic(rp.client_id, rp.secret),
    )
    assert r.status_code == 400


def test_logout_to_an_unregistered_address_is_refused(client, db, city, rp):
    body = tokens(client, city, rp)
    evil = "https://evil.example.com/"
    r = client.get(
        "/oidc/logout",
        params={"id_token_hint": body["id_token"], "post_logout_redirect_uri": evil},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "location" not in r.headers and "退出后跳转地址未在" in r.text
    # Without id_token_hint or client_id the address cannot be checked at all.
    r = client.get("/oidc/logout", params={"post_logout_redirect_uri": RP_LOGOUT}, follow_redirects=False)
    assert r.status_code == 400 and "location" not in r.headers
    # A forged hint is refused.
    r = client.get("/oidc/logout", params={"id_token_hint": "a.b.c"}, follow_redirects=False)
    assert r.status_code == 400
    assert refusals(db, "identity.oidc.logout", "unregistered-post-logout-uri")
    assert refusals(db, "identity.oidc.logout", "bad-id-token-hint")
    # Still signed in.
    assert client.get("/oidc/userinfo", headers=bearer(body["access_token"])).status_code == 200


def test_logout_without_proof_asks_first(client, db, city, rp):
    sign_in(client, city)
    r = client.get(
        "/oidc/logout",
        params={"client_id": rp.client_id, "post_logout_redirect_uri": RP_LOGOUT, "state": "s9"},
        follow_redirects=False,
    )
    assert r.status_code == 200 and "确认退出" in r.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', r.text)
    assert csrf is not None
    # A forged confirmation (no CSRF token) only shows the question again.
    r = client.post("/oidc/logout", data={"confirm": "1", "client_id": rp.client_id}, follow_redirects=False)
    assert r.status_code == 200 and "确认退出" in r.text
    r = client.post(
        "/oidc/logout",
        data={
            "confirm": "1",
            "csrf_token": csrf.group(1),
            "client_id": rp.client_id,
            "post_logout_redirect_uri": RP_LOGOUT,
            "state": "s9",
        },
        follow_redirects=False,
    )
    assert r.status_code == 302 and r.headers["location"] == RP_LOGOUT + "?state=s9"
    assert urlsplit(authorize(client, rp).headers["location"]).path == "/login"
    # Signed out already and no address: a page that says so.
    r = client.get("/oidc/logout")
    assert r.status_code == 200 and "您已退出登录" in r.text


# ---- client registration (A5) --------------------------------------------------------------------


def test_platform_admin_registers_a_client(db, city):
    with db.session() as s:
        admin = _actor(s, city, "admin")
        client, secret = svc.register_client(
            s,
            admin,
            name="  市公积金系统 ",
            owner_unit_id=city.departments["zhujian"],
            redirect_uris=["https://gjj.example.gov.cn/cb", "http://localhost:8080/cb"],
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
            allowed_scopes="profile gjj.read",
        )
        assert re.fullmatch(r"yw-[0-9a-f]{8}", client.client_id)
        assert secret and client.secret_hash == digest(secret) and secret not in (client.secret_hash or "")
        assert client.name == "市公积金系统" and client.allowed_scopes.split()[0] == "openid"
        assert svc.system_scopes(client) == ["gjj.read"]
        record = s.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "identity.client.register", AuditRecord.object_id == client.client_id
            )
        ).one()
        assert secret not in record.detail
        assert client in svc.list_clients(s, admin)
        new_secret = svc.rotate_client_secret(s, admin, client.client_id)
        assert new_secret != secret and client.secret_hash == digest(new_secret)


def _dept_admin_units(s, city) -> tuple[Any, int, int]:
    from yiwang.identity.models import OrgUnit

    actor = _actor(s, city, "dept_admin")
    own = sorted(actor.admin_units)[0]
    other = next(
        uid
        for uid in city.departments.values()
        if not any(f"/{a}/" in s.get(OrgUnit, uid).path for a in actor.admin_units)
    )
    return actor, own, other


def test_dept_admin_registers_only_for_their_own_subtree(db, city):
    with db.session() as s:
        actor, own, other = _dept_admin_units(s, city)
        client, _ = svc.register_client(
            s,
            actor,
            name="部门系统",
            owner_unit_id=own,
            redirect_uris=[RP_CALLBACK],
            grant_types=["authorization_code"],
            allowed_scopes="openid",
        )
        assert [c.client_id for c in svc.list_clients(s, actor)] == [client.client_id]
        with pytest.raises(Forbidden) as refused:
            svc.register_client(
                s,
                actor,
                name="越权",
                owner_unit_id=other,
                redirect_uris=[RP_CALLBACK],
                grant_types=["authorization_code"],
                allowed_scopes="openid",
            )
        assert refused.value.status == 403
        with pytest.raises(Forbidden):
            svc.register_client(
                s,
                _actor(s, city, "citizen"),
                name="x",
                owner_unit_id=own,
                redirect_uris=[RP_CALLBACK],
                grant_types=["authorization_code"],
                allowed_scopes="openid",
            )
        with pytest.raises(Forbidden):
            svc.list_clients(s, _actor(s, city, "citizen"))
        admin_clients = svc.list_clients(s, _actor(s, city, "admin"))
        assert client.client_id in {c.client_id for c in admin_clients}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"redirect_uris": ["http://oa.example.gov.cn/cb"]}, "redirect_uris.0", "https"),
        ({"redirect_uris": ["https://oa.example.gov.cn/cb#frag"]}, "redirect_uris.0", "片段"),
        ({"redirect_uris": ["/relative/cb"]}, "redirect_uris.0", "完整"),
        ({"redirect_uris": ["https://user:pw@oa.example.gov.cn/cb"]}, "redirect_uris.0", "用户名"),
        ({"post_logout_redirect_uris": ["ftp://x.example/"]}, "post_logout_redirect_uris.0", "https"),
        ({"grant_types": ["password"]}, "grant_types", "不支持的授权类型"),
        ({"grant_types": []}, "grant_types", "至少"),
        ({"grant_types": ["refresh_token"]}, "grant_types", "授权码"),
        ({"redirect_uris": []}, "redirect_uris", "回调地址"),
        ({"name": " "}, "name", "不能为空"),
        ({"allowed_scopes": "openid Bad!Scope"}, "allowed_scopes", "格式"),
        ({"is_confidential": False, "grant_types": ["client_credentials"]}, "grant_types", "公开客户端"),
    ],
)
def test_register_client_refuses_bad_input(db, city, changes, field, words):
    args: dict[str, Any] = {
        "name": "系统",
        "owner_unit_id": city.departments["dashuju"],
        "redirect_uris": [RP_CALLBACK],
        "grant_types": ["authorization_code"],
        "allowed_scopes": "openid",
    }
    args.update(changes)
    with db.session() as s:
        before = len(s.scalars(select(OidcClient)).all())
        with pytest.raises(Invalid) as refused:
            svc.register_client(s, _actor(s, city, "admin"), **args)
        assert refused.value.status == 422
        messages = {e.field: e.message for e in refused.value.errors}
        assert field in messages and words in messages[field], messages
        assert len(s.scalars(select(OidcClient)).all()) == before


def test_register_client_over_http_gives_a_chinese_problem(client, city):
    admin = city.accounts["admin"]
    login = client.post(
        "/api/v1/identity/login", json={"username": admin.username, "password": admin.password}
    )
    assert login.status_code == 200, login.text
    headers = bearer(login.json()["access_token"])
    r = client.post(
        "/api/v1/admin/clients",
        headers=headers,
        json={
            "name": "系统",
            "owner_unit_id": city.departments["dashuju"],
            "redirect_uris": ["http://oa.example.gov.cn/cb", "https://oa.example.gov.cn/#x"],
            "grant_types": ["authorization_code", "implicit"],
        },
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["title"] == "提交的内容有误"
    fields = {e["field"] for e in problem["errors"]}
    assert {"redirect_uris.0", "redirect_uris.1", "grant_types"} <= fields
    r = client.post(
        "/api/v1/admin/clients",
        headers=headers,
        json={
            "name": "系统",
            "owner_unit_id": city.departments["dashuju"],
            "redirect_uris": [RP_CALLBACK],
        },
    )
    assert r.status_code == 201 and r.json()["client_secret"]


def test_update_and_deactivate_client(client, db, city, rp, system):
    body = tokens(client, city, rp)
    with db.session() as s:
        admin = _actor(s, city, "admin")
        updated = svc.update_client(
            s, admin, rp.client_id, redirect_uris=[RP_CALLBACK, "https://oa2.example.gov.cn/cb"]
        )
        assert len(updated.redirect_uris) == 2 and updated.name == "市协同办公系统"
        with pytest.raises(Invalid):
            svc.update_client(s, admin, rp.client_id, redirect_uris=["http://oa.example.gov.cn/cb"])
        svc.deactivate_client(s, admin, rp.client_id)
    assert client.get("/oidc/userinfo", headers=bearer(body["access_token"])).status_code == 401
    r = client.post(
        "/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=basic(rp.client_id, rp.secret),
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert refusals(db, "identity.oidc.token", "inactive-client")
    with db.session() as s:
        svc.reactivate_client(s, _actor(s, city, "admin"), rp.client_id)
    r = client.post(
        "/oidc/token",
        data={"grant_type": "client_credentials"},
        headers=basic(system.client_id, system.secret),
    )
    assert r.status_code == 200


def test_rotated_secret_replaces_the_old_one(client, db, city, system):
    with db.session() as s:
        new = svc.rotate_client_secret(s, _actor(s, city, "admin"), system.client_id)
    old = client.post(
        "/oidc/token",
        data={"grant_type": "client_credentials"},
        headers=basic(system.client_id, system.secret),
    )
    assert old.status_code == 401
    assert (
        client.post(
            "/oidc/token", data={"grant_type": "client_credentials"}, headers=basic(system.client_id, new)
        ).status_code
        == 200
    )


def test_demo_city_client_works(client, city):
    demo = city.client
    r = client.get(
        "/oidc/authorize",
        params={
            "response_type": "code",
            "client_id": demo.client_id,
            "redirect_uri": demo.redirect_uri,
            "scope": "openid",
        },
        follow_redirects=False,
    )
    assert r.status_code == 302 and urlsplit(r.headers["location"]).path == "/login"


# ---- consent -------------------------------------------------------------------------------------


def _consent_page(client: TestClient, rp: Rp, **params: str):
    verifier, challenge = pkce()
    page = authorize(
        client, rp, consent=None, code_challenge=challenge, code_challenge_method="S256", **params
    )
    return page, verifier


def _audited(db, action: str) -> list[AuditRecord]:
    with db.session() as s:
        rows = s.scalars(select(AuditRecord).where(AuditRecord.action == action)).all()
        s.expunge_all()
        return list(rows)


def test_login_page_names_the_system_that_asks(client, rp):
    r = authorize(client, rp, consent=None)
    login = client.get(r.headers["location"])
    assert login.status_code == 200 and "“市协同办公系统”请求您使用一网统一身份认证登录" in login.text
    assert "会先请您确认" in login.text
    assert "请求您使用" not in client.get("/login").text


def test_refusing_consent_returns_access_denied_to_the_client(client, db, city, rp):
    sign_in(client, city)
    page, _ = _consent_page(client, rp, state="st-deny", scope="openid profile idcard")
    r = answer_consent(client, page, "deny")
    assert r.status_code == 303 and r.headers["location"].startswith(rp.redirect_uri + "?")
    got = query(r.headers["location"])
    assert got["error"] == "access_denied" and got["state"] == "st-deny" and got["iss"] == ISSUER
    assert "code" not in got
    (denied,) = _audited(db, "identity.oidc.consent.deny")
    assert denied.object_id == rp.client_id and denied.subject == city.accounts["citizen"].citizen_id
    with db.session() as s:
        assert not s.scalars(select(AccessToken).where(AccessToken.client_id == rp.client_id)).all()
    # Not remembered: the next sign-in asks again.
    again, _ = _consent_page(client, rp)
    assert 'action="/oidc/consent"' in again.text


def test_remembered_consent_skips_the_screen_only_for_the_same_or_fewer_scopes(client, db, city, rp):
    sign_in(client, city)
    page, _ = _consent_page(client, rp, scope="openid profile phone")
    assert "完整的公民身份号码" not in page.text
    r = answer_consent(client, page, "allow", remember=True)
    assert "code" in query(r.headers["location"])
    (given,) = _audited(db, "identity.oidc.consent")
    assert '"remember":true' in given.detail
    for fewer in ("openid profile phone", "openid profile", "openid"):
        r = authorize(client, rp, consent=None, scope=fewer)
        assert r.status_code == 302 and "code" in query(r.headers["location"]), fewer
    # More than was agreed (the full citizen ID): asked again, and prompt=none cannot skip it.
    page, _ = _consent_page(client, rp, scope="openid profile idcard")
    assert "完整的公民身份号码" in page.text and "敏感信息" in page.text
    got = query(authorize(client, rp, consent=None, scope="openid idcard", prompt="none").headers["location"])
    assert got["error"] == "consent_required"
    # prompt=consent asks even when remembered.
    page, _ = _consent_page(client, rp, scope="openid", prompt="consent")
    assert 'action="/oidc/consent"' in page.text and 'name="prompt"' not in page.text
    # Another person has not consented to anything.
    client.cookies.delete(get_settings().session_cookie)
    sign_in(client, city, "enterprise")
    page, _ = _consent_page(client, rp, scope="openid")
    assert 'action="/oidc/consent"' in page.text


def test_consent_form_needs_the_session_and_its_csrf_token(app, client, db, city, rp):
    sign_in(client, city)
    page, _ = _consent_page(client, rp)
    fields = dict(consent_form(page))
    # A forged form (wrong CSRF token) is asked again, nothing is issued.
    r = client.post("/oidc/consent", data={**fields, "csrf_token": "forged", "decision": "allow"})
    assert r.status_code == 200 and 'action="/oidc/consent"' in r.text
    assert not _audited(db, "identity.oidc.consent")
    # An unknown client gets the refusal page, never a redirect.
    r = client.post("/oidc/consent", data={**fields, "client_id": "yw-nobody", "decision": "allow"})
    assert r.status_code == 400 and "location" not in r.headers
    # Without a session, back to the login page.
    stranger = TestClient(app, base_url="http://testserver")
    r = stranger.post("/oidc/consent", data={**fields, "decision": "allow"}, follow_redirects=False)
    assert r.status_code == 303 and urlsplit(r.headers["location"]).path == "/login"


def test_revoking_an_authorised_system_on_my_page_revokes_its_tokens(client, db, city, rp):
    sign_in(client, city)
    page, verifier = _consent_page(client, rp, scope="openid profile")
    r = answer_consent(client, page, "allow", remember=True)
    body = exchange(client, rp, query(r.headers["location"])["code"], verifier).json()
    assert body["refresh_token"]
    me = client.get("/me")
    assert 'id="authorised"' in me.text and "市协同办公系统" in me.text and "基本资料" in me.text
    # The platform's own API answers the person's own session or first-party token, never the
    # relying party's token (it may only call what its scopes name).
    assert client.get("/api/v1/identity/me/consents", headers=bearer(body["access_token"])).status_code == 403
    listed = client.get("/api/v1/identity/me/consents", headers=login_api_headers(client, city)).json()
    assert [c["client_id"] for c in listed] == [rp.client_id]
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', me.text[me.text.index('id="authorised"') :])
    assert csrf is not None
    r = client.post(
        f"/me/authorised/{rp.client_id}/revoke", data={"csrf_token": csrf.group(1)}, follow_redirects=False
    )
    assert r.headers["location"] == "/me?done=consent-revoked#authorised"
    assert "市协同办公系统" not in client.get("/me").text
    # The refresh token and the access token are dead; the next sign-in asks again.
    refreshed = client.post(
        "/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=basic(rp.client_id, rp.secret),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert client.get("/oidc/userinfo", headers=bearer(body["access_token"])).status_code == 401
    page, _ = _consent_page(client, rp, scope="openid")
    assert 'action="/oidc/consent"' in page.text
    (revoked,) = _audited(db, "identity.oidc.consent.revoke")
    assert revoked.object_id == rp.client_id and '"tokens_revoked":2' in revoked.detail


def test_my_consents_api_refuses_strangers_and_unknown_clients(client, city):
    assert client.get("/api/v1/identity/me/consents").status_code == 401
    headers = login_api_headers(client, city)
    r = client.delete("/api/v1/identity/me/consents/yw-nobody", headers=headers)
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/identity/me/consents", headers=headers).json() == []


def login_api_headers(client: TestClient, city, key: str = "citizen") -> dict[str, str]:
    acc = city.accounts[key]
    r = client.post("/api/v1/identity/login", json={"username": acc.username, "password": acc.password})
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


def test_only_the_operator_marks_a_client_pre_consented_and_it_is_audited(client, db, city, rp):
    url = f"/api/v1/admin/clients/{rp.client_id}/pre-consent"
    dept = login_api_headers(client, city, "dept_admin")
    r = client.put(url, json={"pre_consented": True}, headers=dept)
    assert r.status_code == 403
    assert client.put(url, json={"pre_consented": True}).status_code == 401
    admin = login_api_headers(client, city, "admin")
    assert client.put(url, json={"pre_consented": "yes please"}, headers=admin).status_code == 422
    assert (
        client.put(f"{url[:-12]}x/pre-consent", json={"pre_consented": True}, headers=admin).status_code
        == 404
    )
    r = client.put(url, json={"pre_consented": True}, headers=admin)
    assert r.status_code == 200 and r.json()["pre_consented"] is True
    (marked,) = [a for a in _audited(db, "identity.client.pre_consent") if a.result == "ok"]
    assert marked.object_id == rp.client_id and '"pre_consented":true' in marked.detail
    assert [a for a in _audited(db, "identity.client.pre_consent") if a.result == "refused"]
    # A pre-consented (first-party) client: the login page names it without promising a question …
    login = client.get(authorize(client, rp, consent=None).headers["location"])
    assert "“市协同办公系统”请求您使用" in login.text and "会先请您确认" not in login.text
    # … and after sign-in there is no screen: straight back with a code.
    sign_in(client, city)
    r = authorize(client, rp, consent=None, scope="openid profile idcard")
    assert r.status_code == 302 and "code" in query(r.headers["location"])
