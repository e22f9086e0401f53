"""Read models of the OIDC clients for the console (the commands are in `service/oidc/clients.py`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yiwang.identity.admin_schemas import ClientRead
from yiwang.identity.models import OidcClient
from yiwang.identity.service.admin.common import _unit_names


def client_reads(session: Session, clients: list[OidcClient]) -> list[ClientRead]:
    """Read models for clients from the OIDC service, with their owners' names (one query)."""
    names = _unit_names(session, {c.owner_unit_id for c in clients})
    return [
        ClientRead(
            id=c.id,
            client_id=c.client_id,
            name=c.name,
            owner_unit_id=c.owner_unit_id,
            owner_unit_name=names.get(c.owner_unit_id, ""),
            redirect_uris=list(c.redirect_uris or []),
            post_logout_redirect_uris=list(c.post_logout_redirect_uris or []),
            grant_types=list(c.grant_types or []),
            allowed_scopes=c.allowed_scopes,
            is_confidential=c.is_confidential,
            is_active=c.is_active,
            pre_consented=c.pre_consented,
            created_at=c.created_at,
        )
        for c in clients
    ]
