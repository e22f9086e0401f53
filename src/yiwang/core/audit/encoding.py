"""The canonical byte encoding of audit records and root anchors, and their SM3 hashes.

This file is the whole definition of what is hashed; `docs/audit.md` restates it for auditors who
re-implement verification without this code.

Record: the UTF-8 encoding of these 18 fields joined by one NUL byte (0x00), in this order::

    "yiwang-audit-v1", chain_id, seq, prev_hash, at, actor_kind, actor_id, actor_name, on_behalf_of,
    client_id, ip, action, object_type, object_id, subject, purpose, result, detail

Root anchor: the same, with these 7 fields::

    "yiwang-audit-root-v1", root_seq, prev_hash, at, chain_id, chain_seq, chain_hash

Integers (chain_id, seq, at, root_seq, chain_seq) are written in decimal ASCII, no sign for positive
values and no leading zeros. `at` is microseconds since 1970-01-01T00:00:00Z. Hashes are 64 lowercase
hex characters. Text fields are stored exactly as hashed and never contain U+0000 (PostgreSQL text
cannot hold it; `append` replaces it by U+FFFD, and unpaired surrogates by "?"), so the NUL separator
is unambiguous. `detail` is canonical JSON: keys sorted, no insignificant whitespace, non-ASCII
characters written as themselves, "{}" when there is no detail. The hash of a record or anchor is the
SM3 digest (GB/T 32905) of that byte string, in lowercase hex. The first record of every chain (seq 1)
and the first anchor (root_seq 1) have prev_hash = 64 "0" characters (32 zero bytes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Final

from yiwang.core.crypto import new_sm3

RECORD_TAG: Final = "yiwang-audit-v1"
ROOT_TAG: Final = "yiwang-audit-root-v1"
GENESIS_HASH: Final = "0" * 64
SEP: Final = "\x00"

# The hashed record fields after the tag, in hashing order (also the column order verify reads).
RECORD_FIELDS: Final = (
    "chain_id",
    "seq",
    "prev_hash",
    "at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "on_behalf_of",
    "client_id",
    "ip",
    "action",
    "object_type",
    "object_id",
    "subject",
    "purpose",
    "result",
    "detail",
)
ANCHOR_FIELDS: Final = ("root_seq", "prev_hash", "at", "chain_id", "chain_seq", "chain_hash")

# "%s" of an int is its decimal form, of a str the str itself: one format call encodes a whole row.
RECORD_FORMAT: Final = RECORD_TAG + (SEP + "%s") * len(RECORD_FIELDS)
ANCHOR_FORMAT: Final = ROOT_TAG + (SEP + "%s") * len(ANCHOR_FIELDS)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)
# Copying a primed hasher skips OpenSSL's per-call algorithm lookup (~20 % of the cost of a 250-byte
# message). `new_sm3` is hashlib's SM3 where OpenSSL offers it, else `cryptography`'s.
_SM3_COPY: Final = new_sm3().copy


def sm3_hex(data: bytes) -> str:
    h = _SM3_COPY()
    h.update(data)
    return h.hexdigest()


def encode_record(fields: Sequence[Any]) -> bytes:
    """The hashed bytes of a record; `fields` holds the values of RECORD_FIELDS in that order."""
    return (RECORD_FORMAT % tuple(fields)).encode("utf-8")


def record_hash(fields: Sequence[Any]) -> str:
    return sm3_hex(encode_record(fields))


def encode_anchor(fields: Sequence[Any]) -> bytes:
    return (ANCHOR_FORMAT % tuple(fields)).encode("utf-8")


def anchor_hash(fields: Sequence[Any]) -> str:
    return sm3_hex(encode_anchor(fields))


def to_micros(at: datetime) -> int:
    """Exact microseconds since the epoch of an aware datetime (no float rounding)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime refused: use yiwang.core.clock.now()")
    return (at - _EPOCH) // _MICRO


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, Decimal | bytes):
        return str(value) if isinstance(value, Decimal) else value.hex()
    return str(value)


_JSON: Final = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_json_default
)


def _c_json() -> Any:
    """json's C encoder built once with the canonical settings, which `JSONEncoder.encode` would build
    anew on every call (half its cost for a small dict). No circular-reference bookkeeping, so it is
    stateless and thread-safe (a cycle ends in RecursionError). Used only if it encodes exactly like
    the JSONEncoder above; otherwise (another Python, no C accelerator) that encoder is used."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        encoder = make(
            None, _json_default, json.encoder.encode_basestring, None, ":", ",", True, False, False
        )
        sample = {
            "b": [1, 2.5, None, True],
            "a": {"中": '\u0000\n"x"'},
            "c": datetime(2026, 1, 1, tzinfo=UTC),
        }
        if "".join(encoder(sample, 0)) != _JSON.encode(sample):
            return None
    except Exception:
        return None
    return encoder


_C_JSON: Final = _c_json()


def canonical_json(detail: Any) -> str:
    """Canonical JSON text of a detail value: the same text whatever the key order of its dicts."""
    if detail is None:
        return "{}"
    if _C_JSON is not None:
        return "".join(_C_JSON(detail, 0))
    return _JSON.encode(detail)


def clean_text(value: Any) -> str:
    """A field value as storable, hashable text: str() of it, with U+0000 replaced by U+FFFD."""
    if value is None:
        return ""
    text = value if type(value) is str else str(value)
    if SEP in text:
        text = text.replace(SEP, "\ufffd")
    return text


def scrub_surrogates(text: str) -> str:
    """Replace unpaired surrogates (which UTF-8 cannot encode) by "?"."""
    return text.encode("utf-8", "replace").decode("utf-8")
