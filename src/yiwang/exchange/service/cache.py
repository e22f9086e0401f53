"""In-process caches of the shared-data pipeline: catalog entries by resource, the settings, and the
actors of bearer tokens.

A catalog entry (its sharing type, provider, items with their grades and masking rules) changes rarely
and is read on every call, so each worker keeps what `catalog.entry_for_resource` returned for a short
time (`ENTRY_TTL`), keyed by resource key and holding the entry's code and version. The catalog's
events (published, retired, mounted, unmounted, grade changed) drop this worker's copy at once; other
workers pick the change up within the TTL. Grants are never cached: the grant check always reads the
database, so a revocation or expiry takes effect on the next call in every worker.

The actor behind a bearer token (identity's `resolve_actor`: the token row, then the client or the
account, through the ORM) costs about as much as the rest of a call, so the data API keeps each
system's or staff member's resolved actor for `token_cache_seconds` (a setting, 2 s by default; 0 turns
it off). A revoked token or a deactivated client is therefore refused within that many seconds in
every worker — the grant, which is what decides access to the data, is still checked live.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy.orm import Session

from yiwang import catalog, registry
from yiwang.core import events
from yiwang.core.deps import check_route_scopes, get_actor
from yiwang.core.security import Actor, ActorKind
from yiwang.exchange.service.common import get_settings_map

ENTRY_TTL: Final = 15.0  # seconds
SETTINGS_TTL: Final = 15.0
MAX_ACTORS: Final = 10_000


@dataclass(frozen=True)
class ResourceView:
    """What the pipeline needs to know about a resource, resolved once per TTL."""

    key: str
    spec: registry.ResourceSpec
    entry: catalog.EntryRead | None  # the published entry it is mounted on, if any
    storage: str  # table / file / external
    items: frozenset[str] = frozenset()  # the catalogued field names
    _plans: dict[bool, dict[str, str]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def code(self) -> str:
        return self.entry.code if self.entry is not None else ""

    @property
    def sharing_type(self) -> str:
        return self.entry.sharing_type if self.entry is not None else ""

    @property
    def provider_dept_id(self) -> int:
        return self.entry.department_id if self.entry is not None else 0

    @property
    def name(self) -> str:
        return self.entry.name if self.entry is not None else self.spec.name

    @property
    def provider_name(self) -> str:
        return self.entry.provider_name if self.entry is not None else self.spec.department_name

    def masked_fields(self, allow_sensitive: bool) -> dict[str, str]:
        """field → rule, for the fields this entry masks or drops under the allowance."""
        plan = self._plans.get(allow_sensitive)
        if plan is None and self.entry is not None:
            full = catalog.masking_plan(self.entry, purpose_allows_sensitive=allow_sensitive)
            plan = {k: v for k, v in full.items() if v != "none"}
            self._plans[allow_sensitive] = plan
        return plan or {}


_lock = threading.Lock()
_entries: dict[str, tuple[float, ResourceView]] = {}
_settings: list[tuple[float, dict[str, int]]] = []
_actors: dict[str, tuple[float, Actor]] = {}


def resource_view(session: Session, key: str) -> ResourceView:
    """The resource `key` with its catalog entry (NotFound for an unknown resource key)."""
    hit = _entries.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    spec = registry.resource(key)
    entry = catalog.entry_for_resource(session, spec.key)
    if entry is not None and entry.status != "published":
        entry = None
    storage = registry.storage_of(session, spec.key)
    view = ResourceView(
        key=spec.key,
        spec=spec,
        entry=entry,
        storage=storage,
        items=frozenset(i.field_name for i in entry.items) if entry is not None else frozenset(),
    )
    with _lock:
        _entries[key] = (now + ENTRY_TTL, view)
    return view


def settings(session: Session) -> dict[str, int]:
    now = time.monotonic()
    if _settings and _settings[0][0] > now:
        return _settings[0][1]
    values = get_settings_map(session)
    with _lock:
        _settings[:] = [(now + SETTINGS_TTL, values)]
    return values


def cached_actor(request: Any, session: Session) -> Actor:
    """The request's actor, from this worker's short-lived cache for bearer tokens of systems and staff
    (see the module docstring); browser sessions and other actors are resolved every time."""
    header = request.headers.get("authorization", "")
    if not header:
        return get_actor(request, session)
    now = time.monotonic()
    hit = _actors.get(header)
    if hit is not None and hit[0] > now:
        ip = request.client.host if request.client else None
        actor = hit[1] if hit[1].ip == ip else hit[1].with_request(ip)
        if actor.is_relying_party:
            check_route_scopes(request, actor)
        request.state.actor = actor
        return actor
    actor = get_actor(request, session)
    ttl = settings(session)["token_cache_seconds"]
    if ttl > 0 and actor.kind in (ActorKind.SYSTEM, ActorKind.STAFF):
        with _lock:
            if len(_actors) >= MAX_ACTORS:
                _actors.clear()
            _actors[header] = (now + ttl, actor)
    return actor


def clear_caches(*_: Any) -> None:
    """Forget every cached entry, setting and actor (after a catalog change; in tests between tests)."""
    with _lock:
        _entries.clear()
        _settings.clear()
        _actors.clear()


for _event in (
    catalog.EntryPublished,
    catalog.EntryRetired,
    catalog.EntryMounted,
    catalog.EntryUnmounted,
    catalog.ItemGradeChanged,
):
    events.subscribe(_event, clear_caches)
