"""The domain logic: plain functions (session, actor, …) → read model. Authorisation lives here, so
the API, the pages and the CLI refuse alike (DESIGN §3 rule 2)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from yiwang import identity
from yiwang.core.security import Actor, ActorKind, require_authenticated
from yiwang.example.problems import PROBLEMS
from yiwang.example.schemas import OverviewRead


def get_overview(session: Session, actor: Actor) -> OverviewRead:
    require_authenticated(actor)
    if actor.kind is not ActorKind.STAFF:
        # Marked for the audit chain: every refusal is recorded with its action.
        raise PROBLEMS["not-staff"]("示例模块仅向政务工作人员开放").audited(actor, "example.overview.read")
    return OverviewRead(name=actor.name, roles=sorted(identity.role_name(r) for r in actor.roles))
