"""OpenID Connect provider (A2) and the government systems registered as its clients (A5).

Two halves:

* **Clients** (`register_client`, `update_client`, `rotate_client_secret`, `deactivate_client`,
  `reactivate_client`, `list_clients`, `get_client`): administration by platform admins, or by a
  department admin for clients owned inside their subtree. Plain `(session, actor, …)` commands.
* **Protocol** (`check_authorization_request`, `issue_authorization_code`, `token_request`,
  `userinfo`, `revoke`, `introspect`, `check_logout_request`, `end_browser_session`, `jwks`,
  `discovery_document`): the flows behind `yiwang.identity.oidc`'s endpoints. Like the login steps in
  `auth.py` they take the `Database` and manage their own transactions, because a refusal (a bad client
  secret, a reused code) must be written to the audit chain, and a reused code must revoke tokens, even
  though the request itself ends in an error.

Access and refresh tokens are opaque and stored as SM3 hashes (`auth.issue_token`), so an access
token is also a Bearer token on the platform's own API. ID tokens are JWS RS256 (the one algorithm
every OIDC library must verify), signed with a key whose private half is sealed with SM4 under the
master key. See docs/sso.md.

The package, by topic (each module imports only those above it):

    clients.py      client registration and administration, client look-ups, token revocation
    keys.py         signing keys, JWKS, signing and checking our own JWTs
    claims.py       issuer, discovery document, `sub`, the claims released per scope
    errors.py       protocol errors, `_Refusal` and how refusals are recorded in the audit chain
    authorize.py    the authorization endpoint and the authorization code
    consent.py      the consent screen's decisions, remembered consents, pre-consented clients
    client_auth.py  client authentication at the token, revocation and introspection endpoints
    tokens.py       the token endpoint and its three grants
    endpoints.py    userinfo, revocation, introspection
    logout.py       RP-initiated logout and the browser session

Callers import from here (`from yiwang.identity.service import oidc`), not from the modules.
"""

from yiwang.identity.service.oidc.authorize import (
    AUTH_AFTER_PARAM,
    CODE_TTL,
    AuthorizationRequest,
    check_authorization_request,
    issue_authorization_code,
    login_required_error,
    login_return_params,
    needs_login,
)
from yiwang.identity.service.oidc.claims import (
    ACR_VALUES,
    discovery_document,
    issuer_url,
    subject_for,
    user_claims,
)
from yiwang.identity.service.oidc.client_auth import (
    ClientCredentials,
    parse_client_credentials,
    single_params,
)
from yiwang.identity.service.oidc.clients import (
    GRANT_LABELS,
    GRANT_TYPES,
    USER_SCOPES,
    check_redirect_uri,
    client_display_name,
    deactivate_client,
    get_client,
    list_clients,
    reactivate_client,
    register_client,
    rotate_client_secret,
    system_scopes,
    update_client,
)
from yiwang.identity.service.oidc.consent import (
    SCOPE_TEXT,
    ConsentRead,
    ConsentView,
    asking_client,
    consent_needed,
    consent_required_error,
    consent_view,
    decide_consent,
    list_consents,
    revoke_consent,
    scope_items,
    set_client_pre_consent,
)
from yiwang.identity.service.oidc.endpoints import introspect, revoke, userinfo
from yiwang.identity.service.oidc.errors import AuthorizeError, BearerError, OAuthError, UnsafeRedirect
from yiwang.identity.service.oidc.keys import (
    KEY_RETIRE_AFTER,
    RSA_BITS,
    _verify_own_jwt,
    current_signing_key,
    jwks,
    rotate_signing_key,
    sign_jwt,
)
from yiwang.identity.service.oidc.logout import (
    LogoutRequest,
    browser_session,
    check_csrf,
    check_logout_request,
    end_browser_session,
)
from yiwang.identity.service.oidc.tokens import ID_TOKEN_TTL, token_request

__all__ = [
    # clients
    "GRANT_LABELS",
    "GRANT_TYPES",
    "USER_SCOPES",
    "check_redirect_uri",
    "client_display_name",
    "deactivate_client",
    "get_client",
    "list_clients",
    "reactivate_client",
    "register_client",
    "rotate_client_secret",
    "system_scopes",
    "update_client",
    # keys
    "KEY_RETIRE_AFTER",
    "RSA_BITS",
    "_verify_own_jwt",
    "current_signing_key",
    "jwks",
    "rotate_signing_key",
    "sign_jwt",
    # claims
    "ACR_VALUES",
    "discovery_document",
    "issuer_url",
    "subject_for",
    "user_claims",
    # errors
    "AuthorizeError",
    "BearerError",
    "OAuthError",
    "UnsafeRedirect",
    # authorization endpoint
    "AUTH_AFTER_PARAM",
    "CODE_TTL",
    "AuthorizationRequest",
    "check_authorization_request",
    "issue_authorization_code",
    "login_required_error",
    "login_return_params",
    "needs_login",
    # client authentication, token endpoint
    "ClientCredentials",
    "ID_TOKEN_TTL",
    "parse_client_credentials",
    "single_params",
    "token_request",
    # consent
    "SCOPE_TEXT",
    "ConsentRead",
    "ConsentView",
    "asking_client",
    "consent_needed",
    "consent_required_error",
    "consent_view",
    "decide_consent",
    "list_consents",
    "revoke_consent",
    "scope_items",
    "set_client_pre_consent",
    # userinfo, revocation, introspection
    "introspect",
    "revoke",
    "userinfo",
    # logout and the browser session
    "LogoutRequest",
    "browser_session",
    "check_csrf",
    "check_logout_request",
    "end_browser_session",
]
