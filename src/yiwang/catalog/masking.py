"""The masking policy (B6, S1): which data items of a record leave the platform, and how masked.

`mask_record(entry, record, purpose_allows_sensitive=…)` is what the exchange applies to every
record it serves from a catalogued resource, built on the primitives of `yiwang.core.masking`:

=====================================  ==============================  ============================
item                                   purpose allows sensitive data   purpose does not
=====================================  ==============================  ============================
not catalogued (no item of that name)  dropped                         dropped
一般 / 重要, not sensitive personal     as is                           as is
核心, or 敏感个人信息 (PIPL art. 28)     as is                           masked by the item's rule
  … whose rule is ``none``             as is                           dropped (fail closed)
=====================================  ==============================  ============================

A grant's purpose "allows sensitive data" when the sharing request named the legal basis for it and
the provider approved exactly that (the exchange decides; the catalog only applies the answer).
``hash`` uses a keyed SM3 (HMAC-SM3): by default the platform key derived from the master key, or the
caller's key (for example one per consumer, so two consumers' hashed records cannot be joined).
"""

from __future__ import annotations

from typing import Any

from yiwang.catalog.schemas import EntryRead, ItemRead
from yiwang.core.crypto import hmac_sm3
from yiwang.core.masking import DROP, apply_mask
from yiwang.settings import get_settings

_HASH_LABEL = b"yiwang/catalog/masking-hash/v1"


def default_hash_key() -> bytes:
    """The platform's key for the ``hash`` rule, derived from the master key (never stored)."""
    return hmac_sm3(get_settings().resolved_master_key(), _HASH_LABEL)


def item_rule(item: ItemRead, *, purpose_allows_sensitive: bool) -> str:
    """The rule applied to `item` under the policy above: ``none`` (as is), a masking rule or ``drop``."""
    if not item.protected or purpose_allows_sensitive:
        return "none"
    return "drop" if item.masking == "none" else item.masking


def mask_record(
    entry: EntryRead,
    record: dict[str, Any],
    *,
    purpose_allows_sensitive: bool = False,
    hash_key: bytes | None = None,
) -> dict[str, Any]:
    """A copy of `record` with only the entry's items, each masked as the policy says."""
    items = {i.field_name: i for i in entry.items}
    key = hash_key
    out: dict[str, Any] = {}
    for name, value in record.items():
        item = items.get(name)
        if item is None:
            continue
        rule = item_rule(item, purpose_allows_sensitive=purpose_allows_sensitive)
        if rule == "none":
            out[name] = value
            continue
        if rule == "hash" and key is None:
            key = default_hash_key()
        masked = apply_mask(rule, value, hash_key=key)
        if masked is DROP:
            continue
        out[name] = masked
    return out


def masking_plan(entry: EntryRead, *, purpose_allows_sensitive: bool = False) -> dict[str, str]:
    """field name → the rule `mask_record` applies to it (for showing a grant what it will receive)."""
    return {
        i.field_name: item_rule(i, purpose_allows_sensitive=purpose_allows_sensitive) for i in entry.items
    }
